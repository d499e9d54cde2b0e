// The only export surface of the WASM core. Every export takes and returns numbers (f64, i32, pointers into
// linear memory from `alloc`), so the host needs no generated bindings. Each area owns its own api file.
export { alloc, free } from "./memory";
export * from "./forecast/api";
export * from "./forecast/gru-api";
export * from "./anomaly/api";
