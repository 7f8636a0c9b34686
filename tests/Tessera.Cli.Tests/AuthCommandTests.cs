using System.Net;
using System.Net.Sockets;

namespace Tessera.Cli.Tests;

/// <summary>login, whoami, logout, the profile file, and the failures an operator meets first: wrong password, no server, an ended session.</summary>
public sealed class AuthCommandTests(CliServer tessera) : IClassFixture<CliServer>
{
    [Fact]
    public async Task Login_with_password_on_stdin_keeps_a_cli_session_in_a_file_only_the_user_can_read()
    {
        var tool = tessera.NewTool();
        var login = await tool.RunWithInputAsync(LoopbackTesseraServer.AdminPassword + "\n",
            "login", "--url", tessera.Url, "--email", LoopbackTesseraServer.AdminEmail, "--password-stdin", "--json");

        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Equal("default", login.Json.GetProperty("profile").GetString());
        Assert.Equal(tessera.Url, login.Json.GetProperty("url").GetString());
        Assert.Equal("cli", login.Json.GetProperty("session").GetProperty("device").GetProperty("platform").GetString());
        Assert.Equal("admin", login.Json.GetProperty("user").GetProperty("role").GetString());
        Assert.DoesNotContain(LoopbackTesseraServer.AdminPassword, login.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(LoopbackTesseraServer.AdminPassword, File.ReadAllText(tool.ConfigPath), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tool.ConfigPath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(tool.ConfigPath)!));
        }

        var whoami = await tool.RunAsync("whoami", "--json");
        Assert.True(whoami.ExitCode == 0, whoami.ToString());
        Assert.Equal(LoopbackTesseraServer.AdminEmail, whoami.Json.GetProperty("user").GetProperty("email").GetString());
        Assert.Equal(login.Json.GetProperty("session").GetProperty("id").GetString(), whoami.Json.GetProperty("session").GetProperty("id").GetString());

        var text = await tool.RunAsync("whoami");
        Assert.Contains(LoopbackTesseraServer.AdminEmail, text.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Profiles_are_separate_and_chosen_by_option_or_environment()
    {
        var tool = tessera.NewTool();
        var (_, email) = await tessera.NewUserAsync();
        Assert.Equal(0, (await tool.RunWithInputAsync(LoopbackTesseraServer.AdminPassword + "\n", "login", "--url", tessera.Url, "--email", LoopbackTesseraServer.AdminEmail, "--password-stdin")).ExitCode);
        Assert.Equal(0, (await tool.RunWithInputAsync(LoopbackTesseraServer.Password + "\n", "login", "--profile", "plain", "--url", tessera.Url, "--email", email, "--password-stdin")).ExitCode);

        Assert.Equal(email, (await tool.RunAsync("whoami", "--json", "--profile", "plain")).Json.GetProperty("user").GetProperty("email").GetString());
        tool.Environment["TESSERA_PROFILE"] = "plain";
        Assert.Equal(email, (await tool.RunAsync("whoami", "--json")).Json.GetProperty("user").GetProperty("email").GetString());

        // A user who is not an admin is refused the admin commands: exit 4.
        var refused = await tool.RunAsync("users", "list", "--json");
        Assert.True(refused.ExitCode == 4, refused.ToString());
        Assert.Equal("forbidden", refused.Json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_wrong_password_is_exit_4_and_saves_nothing()
    {
        var tool = tessera.NewTool();
        var login = await tool.RunWithInputAsync("wrong-password-1\n", "login", "--url", tessera.Url, "--email", LoopbackTesseraServer.AdminEmail, "--password-stdin");

        Assert.True(login.ExitCode == 4, login.ToString());
        Assert.Contains("invalid_credentials", login.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(tool.ConfigPath));
    }

    [Fact]
    public async Task Logout_ends_the_session_on_the_server_and_later_commands_say_to_log_in()
    {
        var tool = await tessera.SignedInToolAsync();
        var logout = await tool.RunAsync("logout", "--json");
        Assert.True(logout.ExitCode == 0, logout.ToString());
        Assert.True(logout.Json.GetProperty("sessionEnded").GetBoolean());

        var whoami = await tool.RunAsync("whoami");
        Assert.Equal(4, whoami.ExitCode);
        Assert.Contains("tessera login", whoami.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_cli_session_is_exit_4_with_a_clear_message_to_log_in_again()
    {
        var tool = await tessera.SignedInToolAsync();
        var sessionId = (await tool.RunAsync("whoami", "--json")).Json.GetProperty("session").GetProperty("id").GetString();
        var admin = (await tool.RunAsync("whoami", "--json")).Json.GetProperty("user").GetProperty("id").GetString();

        // Another admin session ends the CLI's one.
        var token = await tessera.LoginAsync(LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword);
        using (var api = tessera.Server.Api(token))
        {
            (await api.DeleteAsync($"/v1/admin/users/{admin}/sessions/{sessionId}", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        }

        var list = await tool.RunAsync("users", "list");
        Assert.True(list.ExitCode == 4, list.ToString());
        Assert.Contains("no longer valid", list.Stderr, StringComparison.Ordinal);
        Assert.Contains("session_revoked", list.Stderr, StringComparison.Ordinal);
        Assert.Contains("Sign in again: tessera login", list.Stderr, StringComparison.Ordinal);

        var json = await tool.RunAsync("users", "list", "--json");
        Assert.Equal(4, json.ExitCode);
        Assert.Equal("session_revoked", json.Json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_unreachable_server_is_exit_1_with_a_clear_message()
    {
        var tool = await tessera.SignedInToolAsync();
        tool.Environment["TESSERA_URL"] = $"http://127.0.0.1:{ClosedPort()}";
        var (id, _) = await tessera.NewUserAsync();

        var result = await tool.RunWithInputAsync($"{id}\n", "users", "deactivate", "--from-file", "-", "--yes");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("Cannot reach Tessera at http://127.0.0.1:", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("active", (await tessera.UserAsync(id)).GetProperty("status").GetString());

        var json = await tool.RunAsync("whoami", "--json");
        Assert.Equal(1, json.ExitCode);
        Assert.Equal("unreachable", json.Json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Not_signed_in_is_exit_4_and_usage_errors_are_exit_2()
    {
        var tool = tessera.NewTool();
        var whoami = await tool.RunAsync("whoami");
        Assert.Equal(4, whoami.ExitCode);
        Assert.Contains("Not signed in", whoami.Stderr, StringComparison.Ordinal);

        Assert.Equal(2, (await tool.RunAsync("users", "frobnicate")).ExitCode);
        Assert.Equal(2, (await tool.RunAsync("users", "list", "--status", "sleepy")).ExitCode);
        Assert.Equal(2, (await tool.RunAsync("login", "--url", tessera.Url, "--password-stdin")).ExitCode);
        Assert.Equal(2, (await tool.RunAsync("login", "--url", tessera.Url)).ExitCode);

        var help = await tool.RunAsync("users", "ban", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--until", help.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shell_completion_suggests_commands_and_options()
    {
        var tool = tessera.NewTool();
        var commands = await tool.RunAsync("[suggest:6]", "users ");
        Assert.Equal(0, commands.ExitCode);
        Assert.Contains("deactivate", commands.Stdout, StringComparison.Ordinal);
        Assert.Contains("unban", commands.Stdout, StringComparison.Ordinal);

        var options = await tool.RunAsync("[suggest:12]", "users ban --");
        Assert.Contains("--until", options.Stdout, StringComparison.Ordinal);
        Assert.Contains("--from-file", options.Stdout, StringComparison.Ordinal);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
