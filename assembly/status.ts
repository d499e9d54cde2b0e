// Status codes the core returns instead of throwing; the host maps each to a FORESIGHT_ERR_* error (src/core/status.ts).
export const enum Status {
  Ok = 0,
  /** History shorter than the model needs (e.g. fewer than two samples). */
  TooFewPoints = 1,
  /** A value was NaN or +/-Infinity where a finite number is required. */
  NonFinite = 2,
  /** A parameter is outside its documented range. */
  BadParam = 3,
  /** Seasonal model asked for but history shorter than two seasons: a non-seasonal model was fitted instead. */
  FallbackNonSeasonal = 4,
  /** The series is constant: forecasts equal the constant and intervals have zero width. */
  Constant = 5,
  /** A buffer passed by the host is too small for the requested output. */
  BufferTooSmall = 6,
  /** Negative values where the quantity cannot be negative. */
  Negative = 7,
}
