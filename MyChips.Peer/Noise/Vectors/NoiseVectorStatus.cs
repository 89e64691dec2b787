namespace MyChips.Peer.Noise.Vectors;

public enum NoiseVectorStatus
{
    Passed,
    Failed,
    Skipped,
}
