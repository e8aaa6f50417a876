public enum HealthCheckPlaceholder {}
