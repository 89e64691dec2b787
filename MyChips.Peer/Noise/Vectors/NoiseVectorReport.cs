namespace MyChips.Peer.Noise.Vectors;

/// <summary>The result of a whole file.</summary>
public sealed record NoiseVectorReport(IReadOnlyList<NoiseVectorOutcome> Outcomes)
{
    public int Passed => Outcomes.Count(o => o.Status == NoiseVectorStatus.Passed);

    public int Failed => Outcomes.Count(o => o.Status == NoiseVectorStatus.Failed);

    public int Skipped => Outcomes.Count(o => o.Status == NoiseVectorStatus.Skipped);

    public IEnumerable<NoiseVectorOutcome> Failures => Outcomes.Where(o => o.Status == NoiseVectorStatus.Failed);

    /// <summary>The vectors that failed or were skipped, in file order: the ones a reader needs a reason for.</summary>
    public IEnumerable<NoiseVectorOutcome> NotPassed => Outcomes.Where(o => o.Status != NoiseVectorStatus.Passed);

    /// <summary>
    /// True when at least one vector passed and none failed. A file where everything was skipped proves nothing,
    /// so it does not count as a success.
    /// </summary>
    public bool Succeeded => Passed > 0 && Failed == 0;

    /// <summary><c>N passed, N failed, N skipped</c>.</summary>
    public string Summary => $"{Passed} passed, {Failed} failed, {Skipped} skipped";
}
