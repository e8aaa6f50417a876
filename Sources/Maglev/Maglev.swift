public enum MaglevPlaceholder {}
