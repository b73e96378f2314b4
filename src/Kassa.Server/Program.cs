using Kassa.Server.Cli;

return await KassaCli.RunAsync(args);
