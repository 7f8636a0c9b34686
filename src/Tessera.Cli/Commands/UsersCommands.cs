using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Tessera.Cli.Api;

namespace Tessera.Cli.Commands;

/// <summary>tessera users …: find accounts and decide about them, one at a time or in bulk from a file.</summary>
internal static class UsersCommands
{
    public static Command Create()
    {
        var users = new Command("users", "List, show and decide about user accounts (deactivate, reactivate, ban, unban, delete), one or many.");
        users.Subcommands.Add(List());
        users.Subcommands.Add(Show());
        users.Subcommands.Add(Decide(UserAction.Deactivate, "Deactivate: the account cannot sign in and every session ends on every node at once."));
        users.Subcommands.Add(Decide(UserAction.Reactivate, "Reactivate: the account can sign in again (its old sessions stay ended)."));
        users.Subcommands.Add(Decide(UserAction.Ban, "Ban, until unbanned or until --until: every session ends at once."));
        users.Subcommands.Add(Decide(UserAction.Unban, "The safe unban: shows the state before, unbans, checks the account can sign in now, shows the state after."));
        users.Subcommands.Add(Decide(UserAction.Delete, "Delete (soft): personal data anonymised, password removed, every session ended."));
        return users;
    }

    private static Command List()
    {
        var search = new Option<string?>("--search") { Description = "Part of the email or display name." };
        var status = new Option<string?>("--status") { Description = "Only users with this status." };
        status.AcceptOnlyFromAmong("active", "deactivated", "deleted", "banned");
        var page = new Option<int>("--page") { Description = "Page number, from 1.", DefaultValueFactory = _ => 1 };
        var pageSize = new Option<int>("--page-size") { Description = "Users per page (1 to 200).", DefaultValueFactory = _ => 50 };
        var command = new Command("list", "List users, oldest account first.") { search, status, page, pageSize };
        command.SetRun(async (context, cancellationToken) =>
        {
            using var api = context.SignedIn();
            var query = $"/v1/admin/users?page={context.ParseResult.GetValue(page)}&pageSize={context.ParseResult.GetValue(pageSize)}";
            if (context.ParseResult.GetValue(search) is { Length: > 0 } text)
            {
                query += $"&search={Uri.EscapeDataString(text)}";
            }

            if (context.ParseResult.GetValue(status) is { Length: > 0 } wanted)
            {
                query += $"&status={wanted}";
            }

            var answer = await api.GetAsync(query, cancellationToken);
            if (context.Json)
            {
                CliContext.WriteJson(answer);
                return ExitCodes.Done;
            }

            var table = new Table().AddColumns("Id", "Email", "Name", "Role", "Status", "Banned", "Created");
            foreach (var user in answer.Prop("users").EnumerateArray())
            {
                table.AddRow(Cells(user.Str("id"), user.Str("email"), user.Str("displayName"), user.Str("role"), user.Str("status"),
                    user.Bool("banned") ? user.Str("bannedUntil") ?? "yes" : "no", user.Str("createdAt")));
            }

            context.Out.Write(table);
            context.Out.WriteLine($"{answer.Prop("users").GetArrayLength()} shown of {answer.Int("total")}.");
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Show()
    {
        var user = new Argument<string?>("user") { Description = "The user's id (usr_…) or email.", Arity = ArgumentArity.ZeroOrOne };
        var email = new Option<string?>("--email") { Description = "The user's email." };
        var command = new Command("show", "Show one user, whether the account can sign in now, and how many sessions are live.") { user, email };
        command.SetRun(async (context, cancellationToken) =>
        {
            using var api = context.SignedIn();
            var entry = OneTarget(context.ParseResult.GetValue(user), context.ParseResult.GetValue(email));
            var found = await UserLookup.RequireAsync(api, entry, cancellationToken);
            if (context.Json)
            {
                var why = UserLookup.WhyCannotSignIn(found.Prop("user"));
                CliContext.WriteJson(new { user = found.Prop("user"), activeSessions = found.Int("activeSessions"), canSignIn = why is null, cannotSignInBecause = why });
            }
            else
            {
                context.Out.Write(Describe(found.Prop("user"), found.Int("activeSessions")));
            }

            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Decide(UserAction action, string description)
    {
        var user = new Argument<string?>("user") { Description = "The user's id (usr_…) or email.", Arity = ArgumentArity.ZeroOrOne };
        var email = new Option<string?>("--email") { Description = "The user's email." };
        var fromFile = new Option<string?>("--from-file") { Description = "Bulk: one user id or email a line, from this file (- for standard input)." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for a confirmation." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Bulk: say what would be done and change nothing." };
        // Batches per bulk request; hidden, for tests that need many batches from few users.
        var batchSize = new Option<int>("--batch-size") { Hidden = true, DefaultValueFactory = _ => BulkRun.BatchSize };
        var command = new Command(action.Name, description) { user, email, fromFile, dryRun, yes, batchSize };
        Option<string?>? reason = null;
        Option<string?>? until = null;
        if (action == UserAction.Deactivate || action == UserAction.Ban)
        {
            reason = new Option<string?>("--reason") { Description = "Why, for the audit log (up to 500 characters)." };
            command.Options.Add(reason);
        }

        if (action == UserAction.Ban)
        {
            until = new Option<string?>("--until") { Description = "When the ban ends: a time (2027-01-31T00:00Z) or a duration (30m, 12h, 7d). Default: until unbanned." };
            command.Options.Add(until);
        }

        command.SetRun(async (context, cancellationToken) =>
        {
            var parse = context.ParseResult;
            var why = reason is null ? null : parse.GetValue(reason);
            var end = until is null ? null : Until.Parse(parse.GetValue(until), TimeProvider.System);
            if (parse.GetValue(fromFile) is { } file)
            {
                if (parse.GetValue(user) is not null || parse.GetValue(email) is not null)
                {
                    throw new CliException("Give either --from-file or one user, not both.", ExitCodes.Usage, "usage");
                }

                using var bulkApi = context.SignedIn();
                using var run = new BulkRun(context, bulkApi, action, why, end, parse.GetValue(dryRun), parse.GetValue(yes), Math.Clamp(parse.GetValue(batchSize), 1, 1000));
                return await run.RunAsync(file, cancellationToken);
            }

            var entry = OneTarget(parse.GetValue(user), parse.GetValue(email));
            using var api = context.SignedIn();
            return action == UserAction.Unban
                ? await SafeUnbanAsync(context, api, entry, parse.GetValue(dryRun), cancellationToken)
                : await DecideOneAsync(context, api, action, entry, why, end, parse.GetValue(dryRun), parse.GetValue(yes), cancellationToken);
        });
        return command;
    }

    private static async Task<int> DecideOneAsync(
        CliContext context, TesseraApi api, UserAction action, string entry, string? reason, DateTimeOffset? until, bool dryRun, bool yes, CancellationToken cancellationToken)
    {
        var before = await UserLookup.RequireAsync(api, entry, cancellationToken);
        var user = before.Prop("user");
        var id = user.Str("id")!;
        if (action.AlreadyDone(user, until))
        {
            // A re-run changes nothing: no call, so no second audit event either.
            Report(context, action, user, changed: false, revokedSessions: 0, dryRun, $"{user.Str("email")} is already {action.Past}; nothing to do.");
            return ExitCodes.Done;
        }

        if (!context.Json)
        {
            context.Out.Write(Describe(user, before.Int("activeSessions")));
            var effect = action.Destructive ? $" and end its {before.Int("activeSessions")} live session(s) on every node" : string.Empty;
            context.Out.MarkupLine($"This will [bold]{action.Name}[/] {Markup.Escape(user.Str("email") ?? id)}{effect}{(reason is null ? string.Empty : $", reason: {Markup.Escape(reason)}")}.");
        }

        if (dryRun)
        {
            Report(context, action, user, changed: false, revokedSessions: 0, dryRun: true, "Dry run: nothing changed.");
            return ExitCodes.Done;
        }

        if (action.Destructive && !context.Confirm($"{action.Verb} {user.Str("email")}?", yes))
        {
            context.Error.WriteLine("Nothing changed.");
            return ExitCodes.Failed;
        }

        var answer = await action.ApplyAsync(api, id, reason, until, cancellationToken);
        var after = answer.TryGetProperty("user", out var changedUser) ? changedUser : (await UserLookup.GetAsync(api, id, cancellationToken))?.Prop("user") ?? user;
        Report(context, action, after, changed: true, answer.Int("revokedSessions"), dryRun: false,
            $"{user.Str("email") ?? id} {action.Past}; {answer.Int("revokedSessions")} session(s) ended.");
        return ExitCodes.Done;
    }

    /// <summary>
    /// State before, unban, then the check that matters at 3 a.m.: can the account sign in now, by the server's rule
    /// (status active and no ban in force, read back from the server after the change), and the state after.
    /// Unbanned but still unable to sign in (deactivated) is "partly done", exit 3, with what to do next.
    /// </summary>
    private static async Task<int> SafeUnbanAsync(CliContext context, TesseraApi api, string entry, bool dryRun, CancellationToken cancellationToken)
    {
        var before = await UserLookup.RequireAsync(api, entry, cancellationToken);
        var id = before.Prop("user").Str("id")!;
        if (!context.Json)
        {
            context.Out.Write(new Rule("[bold]Before[/]").LeftJustified());
            context.Out.Write(Describe(before.Prop("user"), before.Int("activeSessions")));
        }

        var changed = false;
        if (!UserLookup.IsUnbanned(before.Prop("user")) && !dryRun)
        {
            await UserAction.Unban.ApplyAsync(api, id, reason: null, until: null, cancellationToken);
            changed = true;
        }

        var after = await UserLookup.GetAsync(api, id, cancellationToken) ?? throw new CliException($"User {id} disappeared during the unban.");
        var why = UserLookup.WhyCannotSignIn(after.Prop("user"));
        if (context.Json)
        {
            CliContext.WriteJson(new
            {
                action = "unban",
                dryRun,
                changed,
                before = before.Prop("user"),
                after = after.Prop("user"),
                canSignIn = why is null,
                cannotSignInBecause = why,
            });
        }
        else
        {
            context.Out.Write(new Rule("[bold]After[/]").LeftJustified());
            context.Out.Write(Describe(after.Prop("user"), after.Int("activeSessions")));
            context.Out.MarkupLine(dryRun ? "Dry run: nothing changed." : changed ? "Unbanned." : "Was not banned; nothing changed.");
            context.Out.MarkupLine(why is null
                ? "[green]The account can sign in now.[/]"
                : $"[yellow]The account still cannot sign in: {Markup.Escape(why)}.[/]{(why.Contains("deactivated", StringComparison.Ordinal) ? $" Reactivate it: tessera users reactivate {id}" : string.Empty)}");
        }

        return why is null || dryRun ? ExitCodes.Done : ExitCodes.PartlyDone;
    }

    private static void Report(CliContext context, UserAction action, JsonElement user, bool changed, int revokedSessions, bool dryRun, string text)
    {
        if (context.Json)
        {
            CliContext.WriteJson(new { action = action.Name, dryRun, changed, revokedSessions, user });
        }
        else
        {
            context.Out.WriteLine(text);
        }
    }

    /// <summary>A user's state in a few lines: who, status, ban, whether they can sign in, live sessions.</summary>
    public static Grid Describe(JsonElement user, int activeSessions)
    {
        var why = UserLookup.WhyCannotSignIn(user);
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        grid.AddRow("User", Markup.Escape($"{user.Str("email")} ({user.Str("id")})"));
        grid.AddRow("Name", Markup.Escape(user.Str("displayName") ?? string.Empty));
        grid.AddRow("Role", Markup.Escape(user.Str("role") ?? string.Empty));
        grid.AddRow("Status", Markup.Escape(user.Str("status") ?? string.Empty));
        grid.AddRow("Banned", user.Bool("banned") ? Markup.Escape(user.Str("bannedUntil") is { } until ? $"yes, until {until}" : "yes, until unbanned") : "no");
        grid.AddRow("Can sign in", why is null ? "[green]yes[/]" : $"[red]no[/] ({Markup.Escape(why)})");
        grid.AddRow("Live sessions", activeSessions.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return grid;
    }

    private static string OneTarget(string? user, string? email) => (user, email) switch
    {
        ({ Length: > 0 }, null) => user,
        (null, { Length: > 0 }) => email,
        (null, null) => throw new CliException("Name a user: an id (usr_…), an email, --email, or --from-file for many.", ExitCodes.Usage, "usage"),
        _ => throw new CliException("Give either a user or --email, not both.", ExitCodes.Usage, "usage"),
    };

    private static string[] Cells(params string?[] values) => values.Select(value => Markup.Escape(value ?? string.Empty)).ToArray();
}
