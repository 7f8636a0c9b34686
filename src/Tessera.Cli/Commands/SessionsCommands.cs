using System.CommandLine;
using Spectre.Console;
using Tessera.Cli.Api;

namespace Tessera.Cli.Commands;

/// <summary>tessera sessions …: a user's live sessions, and ending one or all of them (reason revoked_by_admin).</summary>
internal static class SessionsCommands
{
    public static Command Create()
    {
        var sessions = new Command("sessions", "List and end a user's sessions.");
        sessions.Subcommands.Add(List());
        sessions.Subcommands.Add(Revoke());
        return sessions;
    }

    private static Command List()
    {
        var user = new Option<string>("--user") { Description = "The user's id (usr_…) or email.", Required = true };
        var command = new Command("list", "List a user's live sessions, most recently active first.") { user };
        command.SetRun(async (context, cancellationToken) =>
        {
            using var api = context.SignedIn();
            var found = await UserLookup.RequireAsync(api, context.ParseResult.GetValue(user)!, cancellationToken);
            var id = found.Prop("user").Str("id")!;
            var answer = await api.GetAsync($"/v1/admin/users/{Uri.EscapeDataString(id)}/sessions", cancellationToken);
            if (context.Json)
            {
                CliContext.WriteJson(new { userId = id, sessions = answer.Prop("sessions") });
                return ExitCodes.Done;
            }

            var table = new Table().Title($"Live sessions of {Markup.Escape(found.Prop("user").Str("email") ?? id)}")
                .AddColumns("Id", "Device", "Platform", "IP address", "Created", "Last active", "Expires");
            foreach (var session in answer.Prop("sessions").EnumerateArray())
            {
                var device = session.Prop("device");
                table.AddRow(new[]
                {
                    session.Str("id"), device.Str("name"), device.Str("platform"), session.Str("ipAddress"),
                    session.Str("createdAt"), session.Str("lastActiveAt"), session.Str("expiresAt"),
                }.Select(value => Markup.Escape(value ?? string.Empty)).ToArray());
            }

            context.Out.Write(table);
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Revoke()
    {
        var session = new Argument<string?>("session") { Description = "The session's id (ses_…); its user is found from it (--user, if given, must be that user).", Arity = ArgumentArity.ZeroOrOne };
        var user = new Option<string?>("--user") { Description = "The user's id (usr_…) or email; needed with --all." };
        var all = new Option<bool>("--all") { Description = "End every session of the user." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for a confirmation (with --all)." };
        var command = new Command("revoke", "End one session (by its id alone, or of --user), or all of a user's with --user … --all; each ends on every node at once.") { session, user, all, yes };
        command.SetRun(async (context, cancellationToken) =>
        {
            var sessionId = context.ParseResult.GetValue(session);
            var everything = context.ParseResult.GetValue(all);
            if ((sessionId is null) == !everything)
            {
                throw new CliException("Name one session (ses_…) or pass --all, not both.", ExitCodes.Usage, "usage");
            }

            if (everything && context.ParseResult.GetValue(user) is null)
            {
                throw new CliException("--all ends every session of one user: name them with --user.", ExitCodes.Usage, "usage");
            }

            if (context.ParseResult.GetValue(user) is null)
            {
                // By the session's id alone: the server says whose it is, then ends it (revoked_by_admin, audited).
                using var byId = context.SignedIn();
                var byIdPath = $"/v1/admin/sessions/{Uri.EscapeDataString(sessionId!)}";
                var shown = await byId.GetAsync(byIdPath, cancellationToken);
                var owner = shown.Prop("user");
                await byId.DeleteAsync(byIdPath, cancellationToken);
                if (context.Json)
                {
                    CliContext.WriteJson(new { userId = owner.Str("id"), sessionId, revoked = 1 });
                }
                else
                {
                    context.Out.WriteLine($"Ended session {sessionId} of {owner.Str("email") ?? owner.Str("id")}.");
                }

                return ExitCodes.Done;
            }

            using var api = context.SignedIn();
            var found = await UserLookup.RequireAsync(api, context.ParseResult.GetValue(user)!, cancellationToken);
            var id = found.Prop("user").Str("id")!;
            var email = found.Prop("user").Str("email") ?? id;
            var path = $"/v1/admin/users/{Uri.EscapeDataString(id)}/sessions";
            if (everything)
            {
                if (!context.Confirm($"End all {found.Int("activeSessions")} live session(s) of {email}?", context.ParseResult.GetValue(yes)))
                {
                    context.Error.WriteLine("Nothing changed.");
                    return ExitCodes.Failed;
                }

                var answer = await api.DeleteAsync(path, cancellationToken);
                if (context.Json)
                {
                    CliContext.WriteJson(new { userId = id, revoked = answer.Int("revoked") });
                }
                else
                {
                    context.Out.WriteLine($"Ended {answer.Int("revoked")} session(s) of {email}.");
                }

                return ExitCodes.Done;
            }

            await api.DeleteAsync($"{path}/{Uri.EscapeDataString(sessionId!)}", cancellationToken);
            if (context.Json)
            {
                CliContext.WriteJson(new { userId = id, sessionId, revoked = 1 });
            }
            else
            {
                context.Out.WriteLine($"Ended session {sessionId} of {email}.");
            }

            return ExitCodes.Done;
        });
        return command;
    }
}
