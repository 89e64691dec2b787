using System.Reflection;

namespace MyChips.Server.Hosting;

/// <summary>Who this process is, as other instances and the operator see it.</summary>
public sealed record InstanceIdentity(Guid Id, string Host, int Pid, string CodeVersion, int CodeSchemaVersion)
{
    public static InstanceIdentity ForThisProcess(int codeSchemaVersion) => new(
        Guid.NewGuid(),
        Environment.MachineName,
        Environment.ProcessId,
        typeof(InstanceIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0",
        codeSchemaVersion);

    public override string ToString() => $"{Id} ({Host} pid {Pid})";
}
