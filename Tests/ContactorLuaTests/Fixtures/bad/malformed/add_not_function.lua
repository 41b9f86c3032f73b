return { kind = "provider", name = "p1", endpoint = "https://a.test", add = "nope" }
