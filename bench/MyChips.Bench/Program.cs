using System.CommandLine;
using MyChips.Bench;

var root = new RootCommand("mychips-bench: load scenarios for a MyCHIPs site; each prints its figures.")
{
    NoiseBench.Create(),
    UpgradeBench.Create(),
    PeerBench.Create(),
    PaymentsBench.Create(),
};
return await root.Parse(args).InvokeAsync();
