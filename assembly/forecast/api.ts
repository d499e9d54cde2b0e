// placeholder export surface, replaced by its owner
export function forecast_apiVersion(): i32 { return 0; }
