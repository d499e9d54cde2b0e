// placeholder export surface, replaced by its owner
export function anomaly_apiVersion(): i32 { return 0; }
