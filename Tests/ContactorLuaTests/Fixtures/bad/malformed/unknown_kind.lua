return { kind = "exporter", name = "x" }
