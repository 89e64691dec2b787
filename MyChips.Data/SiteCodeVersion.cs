namespace MyChips.Data;

/// <summary>The schema version this build of the code was made for: the highest migration number it knows.</summary>
public sealed record SiteCodeVersion(int SchemaVersion);
