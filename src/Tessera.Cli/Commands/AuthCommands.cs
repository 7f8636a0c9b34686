using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using Tessera.Cli.Api;
using Tessera.Cli.Config;
using Tessera.Client;

namespace Tessera.Cli.Commands;

/// <summary>login, whoami, logout: the CLI's own session, kept in a profile.</summary>
internal static class AuthCommands
{
    public static Command Login()
    {
        var url = new Option<string?>("--url") { Description = "Tessera's address, e.g. https://tessera.example.com (default: $TESSERA_URL, else the profile's)." };
        var email = new Option<string?>("--email") { Description = "The admin's email (asked for on a terminal when left out)." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from the first line of standard input (for scripts; never pass it as an argument)." };
        var provider = new Option<string?>("--provider")
        {
            Description = "Sign in through this OpenID Connect provider (its configured name, e.g. google) in the browser instead of with a password.",
        };
        var noBrowser = new Option<bool>("--no-browser") { Description = "With --provider: print the address to open instead of opening the browser (open it on this machine)." };
        var command = new Command("login", "Sign in as an admin and keep the session in the profile. The session's device platform is cli, so the audit log names what you do as actor kind cli.")
        {
            url, email, passwordStdin, provider, noBrowser,
        };
        command.SetRun(async (context, cancellationToken) =>
        {
            var address = context.ParseResult.GetValue(url) ?? CliContext.UrlFromEnvironment ?? context.Profiles.Find(context.ProfileName)?.Url
                ?? throw new CliException("Where is Tessera? Pass --url (or set TESSERA_URL).", ExitCodes.Usage, "url_required");
            var device = new DeviceInfo(DeviceName(), "cli", Truncate(RuntimeInformation.OSDescription, 100));
            if (context.ParseResult.GetValue(provider) is { } providerName)
            {
                if (context.ParseResult.GetValue(email) is not null || context.ParseResult.GetValue(passwordStdin))
                {
                    throw new CliException("--provider signs in through the browser: leave out --email and --password-stdin.", ExitCodes.Usage, "provider_with_password");
                }

                using var anonymous = new TesseraApi(address, token: null);
                var token = await BrowserLogin.SignInAsync(context, anonymous, providerName, device, openBrowser: !context.ParseResult.GetValue(noBrowser), cancellationToken);

                // The session as the server describes it, so that --json and the profile are those of a password login.
                using var signedIn = new TesseraApi(address, token);
                var current = await signedIn.GetAsync("/v1/auth/session", cancellationToken);
                return SignedIn(context, signedIn.BaseUrl, token, current.Prop("user"), current.Prop("session"));
            }

            if (context.ParseResult.GetValue(noBrowser))
            {
                throw new CliException("--no-browser goes with --provider.", ExitCodes.Usage, "no_browser_without_provider");
            }

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
            JsonElement answer;
            try
            {
                answer = await api.PostAsync("/v1/auth/login", new { email = login, password, device = new { name = device.Name, platform = device.Platform, os = device.Os } }, cancellationToken);
            }
            catch (ApiException exception) when ((int)exception.Status is 401 or 403)
            {
                // A wrong password is not a session that ended: say it as it is, and exit "not authorised".
                throw new CliException($"Sign-in refused ({exception.Code}): {exception.Message}", ExitCodes.NotAuthorised, exception.Code);
            }

            return SignedIn(context, api.BaseUrl, answer.Str("token"), answer.Prop("user"), answer.Prop("session"));
        });
        return command;
    }

    /// <summary>The end of every login, by password or through a provider: the profile saved, then what it says.</summary>
    private static int SignedIn(CliContext context, string baseUrl, string? token, JsonElement user, JsonElement session)
    {
        var profile = new Config.Profile(baseUrl, token, user.Str("email"), user.Str("id"), session.Str("id"));
        context.Profiles.Save(context.ProfileName, profile);
        if (context.Json)
        {
            CliContext.WriteJson(new { profile = context.ProfileName, url = baseUrl, configFile = context.Profiles.Path, session, user });
        }
        else
        {
            context.Out.MarkupLine($"Signed in to [bold]{Markup.Escape(baseUrl)}[/] as [bold]{Markup.Escape(user.Str("email") ?? "?")}[/] ({Markup.Escape(user.Str("role") ?? "?")}), profile '{Markup.Escape(context.ProfileName)}'.");
            if (user.Str("role") != "admin")
            {
                context.Error.MarkupLine("[yellow]warning:[/] this account is not an admin; the users, sessions and audit commands will be refused.");
            }
        }

        return ExitCodes.Done;
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
