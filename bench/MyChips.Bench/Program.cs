using System.CommandLine;
using MyChips.Bench;

var root = new RootCommand("mychips-bench: scenarios that print figures.")
{
    UpgradeBench.Create(),
};
return await root.Parse(args).InvokeAsync();
