using System.CommandLine;
using Tessera.Cli;
using Tessera.Cli.Commands;

var root = new RootCommand("tessera: the admin command line for a Tessera session authority. Every change goes through the API, is audited (actor kind cli) and reaches every node at once.")
{
    CliContext.ProfileOption,
    CliContext.JsonOption,
    AuthCommands.Login(),
    AuthCommands.WhoAmI(),
    AuthCommands.Logout(),
    UsersCommands.Create(),
    SessionsCommands.Create(),
    AuditCommands.Create(),
};

var parseResult = root.Parse(args);
if (parseResult.Errors.Count > 0)
{
    foreach (var error in parseResult.Errors)
    {
        await Console.Error.WriteLineAsync(error.Message);
    }

    await Console.Error.WriteLineAsync("Run with --help for usage.");
    return ExitCodes.Usage;
}

// Ctrl+C is the commands' own business: a bulk stops between batches and reports what it did, rather than being cut off.
return await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
