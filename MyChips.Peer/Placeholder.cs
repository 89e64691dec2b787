namespace MyChips.Peer; internal static class Placeholder {}
