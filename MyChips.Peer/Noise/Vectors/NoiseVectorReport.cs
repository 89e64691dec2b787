namespace MyChips.Peer.Noise.Vectors;

/// <summary>The result of a whole file.</summary>
public sealed record NoiseVectorReport(IReadOnlyList<NoiseVectorOutcome> Outcomes)
{
    public int Passed => Outcomes.Count(o => o.Status == NoiseVectorStatus.Passed);

    public int Failed => Outcomes.Count(o => o.Status == NoiseVectorStatus.Failed);

    public int Skipped => Outcomes.Count(o => o.Status == NoiseVectorStatus.Skipped);

    public IEnumerable<NoiseVectorOutcome> Failures => Outcomes.Where(o => o.Status == NoiseVectorStatus.Failed);

    /// <summary><c>N passed, N failed</c>, with <c>, N skipped</c> when any were skipped.</summary>
    public string Summary =>
        Skipped > 0 ? $"{Passed} passed, {Failed} failed, {Skipped} skipped" : $"{Passed} passed, {Failed} failed";
}
