using MyChips.Server.Cli;

return await MyChipsCommand.Create().Parse(args).InvokeAsync(
    // The web host owns SIGINT/SIGTERM (graceful shutdown, then the embedded cluster stops).
    new System.CommandLine.InvocationConfiguration { ProcessTerminationTimeout = null });
