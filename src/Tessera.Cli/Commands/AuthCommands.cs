using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using Tessera.Cli.Api;
using Tessera.Cli.Config;

namespace Tessera.Cli.Commands;

/// <summary>login, whoami, logout: the CLI's own session, kept in a profile.</summary>
internal static class AuthCommands
{
    public static Command Login()
    {
        var url = new Option<string?>("--url") { Description = "Tessera's address, e.g. https://tessera.example.com (default: $TESSERA_URL, else the profile's)." };
        var email = new Option<string?>("--email") { Description = "The admin's email (asked for on a terminal when left out)." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from the first line of standard input (for scripts; never pass it as an argument)." };
        var command = new Command("login", "Sign in as an admin and keep the session in the profile. The session's device platform is cli, so the audit log names what you do as actor kind cli.")
        {
            url, email, passwordStdin,
        };
        command.SetRun(async (context, cancellationToken) =>
        {
            var address = context.ParseResult.GetValue(url) ?? CliContext.UrlFromEnvironment ?? context.Profiles.Find(context.ProfileName)?.Url
                ?? throw new CliException("Where is Tessera? Pass --url (or set TESSERA_URL).", ExitCodes.Usage, "url_required");
            var login = context.ParseResult.GetValue(email);
            string password;
            if (context.ParseResult.GetValue(passwordStdin))
            {
                if (login is null)
                {
                    throw new CliException("--password-stdin needs --email.", ExitCodes.Usage, "email_required");
                }

                password = (await Console.In.ReadLineAsync(cancellationToken))?.TrimEnd('\r', '\n') ?? string.Empty;
            }
            else
            {
                if (!CliContext.Interactive)
                {
                    throw new CliException("Not a terminal: pass --email and --password-stdin with the password on standard input.", ExitCodes.Usage, "not_interactive");
                }

                login ??= await context.Out.PromptAsync(new TextPrompt<string>("Email:"), cancellationToken);
                password = await context.Out.PromptAsync(new TextPrompt<string>("Password:").Secret(), cancellationToken);
            }

            if (password.Length == 0)
            {
                throw new CliException("No password was given.", ExitCodes.Usage, "password_required");
            }

            using var api = new TesseraApi(address, token: null);
            var device = new { name = DeviceName(), platform = "cli", os = Truncate(RuntimeInformation.OSDescription, 100) };
            JsonElement answer;
            try
            {
                answer = await api.PostAsync("/v1/auth/login", new { email = login, password, device }, cancellationToken);
            }
            catch (ApiException exception) when ((int)exception.Status is 401 or 403)
            {
                // A wrong password is not a session that ended: say it as it is, and exit "not authorised".
                throw new CliException($"Sign-in refused ({exception.Code}): {exception.Message}", ExitCodes.NotAuthorised, exception.Code);
            }

            var user = answer.Prop("user");
            var session = answer.Prop("session");
            var profile = new Config.Profile(api.BaseUrl, answer.Str("token"), user.Str("email"), user.Str("id"), session.Str("id"));
            context.Profiles.Save(context.ProfileName, profile);
            if (context.Json)
            {
                CliContext.WriteJson(new { profile = context.ProfileName, url = api.BaseUrl, configFile = context.Profiles.Path, session, user });
            }
            else
            {
                context.Out.MarkupLine($"Signed in to [bold]{Markup.Escape(api.BaseUrl)}[/] as [bold]{Markup.Escape(user.Str("email") ?? "?")}[/] ({Markup.Escape(user.Str("role") ?? "?")}), profile '{Markup.Escape(context.ProfileName)}'.");
                if (user.Str("role") != "admin")
                {
                    context.Error.MarkupLine("[yellow]warning:[/] this account is not an admin; the users, sessions and audit commands will be refused.");
                }
            }

            return ExitCodes.Done;
        });
        return command;
    }

    public static Command WhoAmI()
    {
        var command = new Command("whoami", "Show the profile's account and session, as the server sees them now.");
        command.SetRun(async (context, cancellationToken) =>
        {
            using var api = context.SignedIn();
            var answer = await api.GetAsync("/v1/auth/session", cancellationToken);
            var user = answer.Prop("user");
            var session = answer.Prop("session");
            if (context.Json)
            {
                CliContext.WriteJson(new { profile = context.ProfileName, url = api.BaseUrl, session, user });
                return ExitCodes.Done;
            }

            var grid = new Grid().AddColumn().AddColumn();
            grid.AddRow("Profile", Markup.Escape(context.ProfileName));
            grid.AddRow("Tessera", Markup.Escape(api.BaseUrl));
            grid.AddRow("Email", Markup.Escape(user.Str("email") ?? string.Empty));
            grid.AddRow("User id", Markup.Escape(user.Str("id") ?? string.Empty));
            grid.AddRow("Role", Markup.Escape(user.Str("role") ?? string.Empty));
            grid.AddRow("Session", Markup.Escape(session.Str("id") ?? string.Empty));
            grid.AddRow("Expires", Markup.Escape(session.Str("expiresAt") ?? string.Empty));
            context.Out.Write(grid);
            return ExitCodes.Done;
        });
        return command;
    }

    public static Command Logout()
    {
        var command = new Command("logout", "End the profile's session on the server and forget its token.");
        command.SetRun(async (context, cancellationToken) =>
        {
            var profile = context.Profiles.Find(context.ProfileName);
            var ended = false;
            if (profile?.Token is not null)
            {
                using var api = new TesseraApi(CliContext.UrlFromEnvironment ?? profile.Url, profile.Token);
                try
                {
                    await api.PostAsync("/v1/auth/logout", body: null, cancellationToken);
                    ended = true;
                }
                catch (ApiException exception) when (exception.SessionEnded)
                {
                    // Already over on the server: forgetting the token is all that is left to do.
                }

                context.Profiles.Save(context.ProfileName, profile with { Token = null, SessionId = null });
            }

            if (context.Json)
            {
                CliContext.WriteJson(new { profile = context.ProfileName, signedOut = true, sessionEnded = ended });
            }
            else
            {
                context.Out.WriteLine(profile?.Token is null ? $"Profile '{context.ProfileName}' was not signed in." : $"Signed out of profile '{context.ProfileName}'.");
            }

            return ExitCodes.Done;
        });
        return command;
    }

    private static string DeviceName() => Truncate($"tessera CLI on {Environment.MachineName}", 100);

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
