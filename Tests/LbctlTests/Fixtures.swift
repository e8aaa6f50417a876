/// Answers of lbd, as the API contract describes them.
enum Fixtures {
    /// Three VIPs: IPv4 with a backend up, one down and one drained; IPv4 UDP without
    /// backends; IPv6 with two unchecked backends.
    static let status = """
        {"services":[
          {"vip":"10.0.0.10:80/tcp","hash":"5tuple","state":"degraded","backends_up":1,"min_up":2,
           "panic_threshold":0,"panic":false,"packets":1500000,"bytes":1610612736,
           "syns":0,"new_flows":0,"conn_misses":0,
           "backends":[
             {"address":"192.0.2.11","weight":100,"drained":false,"health":"up",
              "health_since":"2025-11-20T10:00:00Z","health_age_s":11000.5,"last_check":"status 200","latency_ms":1.25,
              "ring_slots":65537,"ring_share":1.0,"packets":1000000,"bytes":1073741824},
             {"address":"192.0.2.12","weight":100,"drained":false,"health":"down",
              "health_since":"2025-11-21T08:30:00Z","health_age_s":754.2,"last_check":"connection refused",
              "latency_ms":0.31,"ring_slots":0,"ring_share":0.0,"packets":500000,"bytes":536870912},
             {"address":"192.0.2.13","weight":50,"drained":true,"health":"up","health_age_s":42,
              "last_check":"status 200","latency_ms":0.9,
              "ring_slots":0,"ring_share":0,"packets":0,"bytes":0}]},
          {"vip":"10.0.0.20:53/udp","hash":"5tuple","state":"no_backend","backends_up":0,"min_up":1,
           "panic_threshold":0,"panic":false,"packets":7,"bytes":512,"syns":0,"new_flows":0,"conn_misses":0,
           "backends":[]},
          {"vip":"[2001:db8::10]:443/tcp","hash":"source","state":"ok","backends_up":2,"min_up":1,
           "panic_threshold":0,"panic":false,"packets":12,"bytes":18446744073709551615,
           "syns":0,"new_flows":0,"conn_misses":0,
           "backends":[
             {"address":"2001:db8::21","weight":200,"drained":false,"health":"unchecked",
              "ring_slots":43691,"ring_share":0.66667,"packets":8,"bytes":1000},
             {"address":"2001:db8::22","weight":100,"drained":false,"health":"unchecked",
              "ring_slots":21846,"ring_share":0.33333,"packets":4,"bytes":1536}]}
        ],
        "datapath":{"attached":"native","interface":"eth0","adopted":true}}
        """

    static let services = """
        {"services":[
          {"vip":"10.0.0.10:80/tcp","hash":"5tuple","backends":[
            {"address":"192.0.2.11","weight":100,"drained":false},
            {"address":"192.0.2.12","weight":100,"drained":false},
            {"address":"192.0.2.13","weight":50,"drained":true}]},
          {"vip":"10.0.0.20:53/udp","hash":"5tuple","udp_idle_timeout":"30s","backends":[]},
          {"vip":"[2001:db8::10]:443/tcp","hash":"source","backends":[
            {"address":"2001:db8::21","weight":200,"drained":false}]}
        ]}
        """

    /// A services file as `lbctl export` prints it.
    static let servicesYAML = """
        # lbd services: lbctl apply -f FILE
        services:
          - vip: 10.0.0.10:80/tcp
            hash: 5tuple
            backends:
              - address: 192.0.2.11
                weight: 100
                drained: false
          - vip: "[2001:db8::10]:443/tcp"
            hash: source
            backends: []

        """

    static let plan = """
        ~ 10.0.0.10:80/tcp
            + 192.0.2.13 weight 100
            ~ 192.0.2.11 weight 100 -> 50
        0 VIPs added, 0 removed, 1 changed
        """
}
