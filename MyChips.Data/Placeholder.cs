namespace MyChips.Data; internal static class Placeholder {}
