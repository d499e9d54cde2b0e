# Golden fixtures for the Holt-Winters kernels: forecast::hw / forecast::holt with fixed parameters and
# initial = "simple" (forecast:::HoltWintersZZ, the engine of hw(initial = "simple"), called directly where hw()
# refuses a damped trend with simple initialisation: level = mean of the first season, trend = (mean of season 2 -
# mean of season 1) / m, seasonals = first season - level; holt: level = x[1], trend = x[2] - x[1]).
# Run: Rscript scripts/golden/holt-winters.R test/fixtures/r/holt-winters.json
# Needs Debian r-cran-forecast (8.20) and r-cran-jsonlite.
suppressPackageStartupMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "test/fixtures/r/holt-winters.json"

num <- function(v) sprintf("%.17g", as.numeric(v))
arr <- function(v) paste0("[", paste(num(v), collapse = ","), "]")

case <- function(name, call, x, m, fit, alpha, beta, gamma, phi, l0, b0, s0, h) {
  fc <- forecast(fit, h = h)
  paste0(
    "{\"name\":\"", name, "\",\"call\":\"", gsub("\"", "\\\\\"", call), "\",",
    "\"m\":", m, ",\"alpha\":", num(alpha), ",\"beta\":", num(beta), ",\"gamma\":", num(gamma), ",\"phi\":", num(phi), ",",
    "\"x\":", arr(x), ",\"l0\":", num(l0), ",\"b0\":", num(b0), ",\"s0\":", arr(s0), ",",
    "\"fitted\":", arr(fitted(fit)), ",\"mean\":", arr(fc$mean), "}"
  )
}

cases <- character(0)

x <- as.numeric(AirPassengers)
y <- ts(x, frequency = 12)
l0 <- mean(x[1:12]); b0 <- (mean(x[13:24]) - l0) / 12; s0 <- x[1:12] - l0
call <- "hw(ts(AirPassengers, frequency = 12), h = 24, seasonal = 'additive', initial = 'simple', alpha = 0.3, beta = 0.1, gamma = 0.2)"
fit <- hw(y, h = 24, seasonal = "additive", initial = "simple", alpha = 0.3, beta = 0.1, gamma = 0.2)
cases <- c(cases, case("airpassengers-additive", call, x, 12, fit, 0.3, 0.1, 0.2, 1, l0, b0, s0, 24))

# hw() refuses damped + initial = "simple"; its engine forecast:::HoltWintersZZ takes phi directly
call <- "forecast(forecast:::HoltWintersZZ(ts(AirPassengers, frequency = 12), alpha = 0.4, beta = 0.05, gamma = 0.3, phi = 0.9), h = 24)"
fit <- forecast:::HoltWintersZZ(y, alpha = 0.4, beta = 0.05, gamma = 0.3, phi = 0.9)
cases <- c(cases, case("airpassengers-damped", call, x, 12, fit, 0.4, 0.05, 0.3, 0.9, l0, b0, s0, 24))

# a 5-minute-like daily pattern with m = 24, values written out in the fixture (no RNG dependence)
t <- 0:(24 * 6 - 1)
x2 <- 50 + 20 * sin(2 * pi * t / 24) + 0.05 * t + 3 * cos(7 * t)
y2 <- ts(x2, frequency = 24)
l0 <- mean(x2[1:24]); b0 <- (mean(x2[25:48]) - l0) / 24; s0 <- x2[1:24] - l0
call <- "forecast(forecast:::HoltWintersZZ(ts(x2, frequency = 24), alpha = 0.5, beta = 0.05, gamma = 0.3, phi = 0.95), h = 48); x2 = 50 + 20 sin(2 pi t/24) + 0.05 t + 3 cos(7 t), t = 0..143"
fit <- forecast:::HoltWintersZZ(y2, alpha = 0.5, beta = 0.05, gamma = 0.3, phi = 0.95)
cases <- c(cases, case("synthetic-daily-damped", call, x2, 24, fit, 0.5, 0.05, 0.3, 0.95, l0, b0, s0, 48))

# non-seasonal damped Holt
x3 <- as.numeric(window(Nile, 1871, 1970))
call <- "forecast(forecast:::HoltWintersZZ(Nile, alpha = 0.3, beta = 0.1, gamma = FALSE, phi = 0.9), h = 10)"
fit <- forecast:::HoltWintersZZ(ts(x3), alpha = 0.3, beta = 0.1, gamma = FALSE, phi = 0.9)
cases <- c(cases, case("nile-holt-damped", call, x3, 0, fit, 0.3, 0.1, 0, 0.9, x3[1], x3[2] - x3[1], numeric(0), 10))

doc <- paste0(
  "{\"source\":\"", R.version.string, "; forecast ", as.character(packageVersion("forecast")),
  "\",\"script\":\"scripts/golden/holt-winters.R\",",
  "\"note\":\"classic-form parameters (alpha, beta*, gamma*) as passed to hw/holt; fitted = one-step forecasts; mean = h-step forecasts from the end\",",
  "\"cases\":[", paste(cases, collapse = ","), "]}"
)
writeLines(doc, out)
cat("wrote", out, "\n")
