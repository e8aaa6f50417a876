import CLibbpf
import CLBABI
import CBPFObjects
public enum DatapathPlaceholder {}
