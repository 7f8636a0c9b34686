namespace Tessera.Cli.Tests;

/// <summary>users list/show/deactivate/reactivate/ban/unban/delete for one user, by id or email; confirmations; the safe unban; actor kind cli.</summary>
public sealed class UsersCommandTests(CliServer tessera) : IClassFixture<CliServer>
{
    [Fact]
    public async Task List_and_show_give_the_servers_shapes()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, email) = await tessera.NewUserAsync(sessions: 2, prefix: "listed");

        var list = await tool.RunAsync("users", "list", "--search", email, "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(1, list.Json.GetProperty("total").GetInt32());
        Assert.Equal(id, list.Json.GetProperty("users")[0].GetProperty("id").GetString());

        var show = await tool.RunAsync("users", "show", "--email", email, "--json");
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Equal(id, show.Json.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal(2, show.Json.GetProperty("activeSessions").GetInt32());
        Assert.True(show.Json.GetProperty("canSignIn").GetBoolean());

        var text = await tool.RunAsync("users", "show", id);
        Assert.Contains(email, text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Can sign in", text.Stdout, StringComparison.Ordinal);

        var missing = await tool.RunAsync("users", "show", "--email", "nobody-at-all@example.test", "--json");
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("not_found", missing.Json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Deactivate_needs_a_confirmation_where_nobody_can_answer_and_changes_nothing_without_it()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, email) = await tessera.NewUserAsync(sessions: 1);

        var refused = await tool.RunAsync("users", "deactivate", "--email", email);
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("--yes", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal("active", (await tessera.UserAsync(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Deactivate_by_email_ends_every_session_is_audited_as_cli_and_a_rerun_changes_nothing()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, email) = await tessera.NewUserAsync();
        var token = await tessera.LoginAsync(email);

        var done = await tool.RunAsync("users", "deactivate", "--email", email, "--reason", "left the company", "--yes", "--json");
        Assert.True(done.ExitCode == 0, done.ToString());
        Assert.True(done.Json.GetProperty("changed").GetBoolean());
        Assert.Equal(1, done.Json.GetProperty("revokedSessions").GetInt32());
        Assert.Equal("deactivated", done.Json.GetProperty("user").GetProperty("status").GetString());
        Assert.False(await tessera.HoldsAsync(token));

        var events = (await tessera.AdminGetAsync($"/v1/admin/audit?userId={id}&action=user.deactivated")).GetProperty("events");
        var deactivated = Assert.Single(events.EnumerateArray());
        Assert.Equal("cli", deactivated.GetProperty("actor").GetProperty("kind").GetString());
        Assert.Equal("left the company", deactivated.GetProperty("reason").GetString());

        var again = await tool.RunAsync("users", "deactivate", id, "--yes", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.False(again.Json.GetProperty("changed").GetBoolean());
        Assert.Single((await tessera.AdminGetAsync($"/v1/admin/audit?userId={id}&action=user.deactivated")).GetProperty("events").EnumerateArray());

        var reactivated = await tool.RunAsync("users", "reactivate", id, "--json");
        Assert.True(reactivated.ExitCode == 0, reactivated.ToString());
        Assert.Equal("active", reactivated.Json.GetProperty("user").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ban_until_then_the_safe_unban_shows_before_and_after_and_that_the_account_can_sign_in()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, email) = await tessera.NewUserAsync(sessions: 2);

        var ban = await tool.RunAsync("users", "ban", email, "--until", "7d", "--reason", "spam", "--yes", "--json");
        Assert.True(ban.ExitCode == 0, ban.ToString());
        Assert.True(ban.Json.GetProperty("user").GetProperty("banned").GetBoolean());
        Assert.Equal(2, ban.Json.GetProperty("revokedSessions").GetInt32());
        var until = ban.Json.GetProperty("user").GetProperty("bannedUntil").GetDateTimeOffset();
        Assert.InRange(until, DateTimeOffset.UtcNow.AddDays(6.9), DateTimeOffset.UtcNow.AddDays(7.1));

        var unban = await tool.RunAsync("users", "unban", "--email", email, "--json");
        Assert.True(unban.ExitCode == 0, unban.ToString());
        Assert.True(unban.Json.GetProperty("before").GetProperty("banned").GetBoolean());
        Assert.False(unban.Json.GetProperty("after").GetProperty("banned").GetBoolean());
        Assert.True(unban.Json.GetProperty("changed").GetBoolean());
        Assert.True(unban.Json.GetProperty("canSignIn").GetBoolean());
        Assert.True(await tessera.HoldsAsync(await tessera.LoginAsync(email)));

        var text = await tool.RunAsync("users", "unban", id);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("Before", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("After", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Was not banned; nothing changed.", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("The account can sign in now.", text.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_safe_unban_of_a_deactivated_account_says_it_still_cannot_sign_in_exit_3()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, _) = await tessera.NewUserAsync();
        Assert.Equal(0, (await tool.RunAsync("users", "ban", id, "--yes")).ExitCode);
        Assert.Equal(0, (await tool.RunAsync("users", "deactivate", id, "--yes")).ExitCode);

        var unban = await tool.RunAsync("users", "unban", id);
        Assert.True(unban.ExitCode == 3, unban.ToString());
        Assert.Contains("still cannot sign in", unban.Stdout, StringComparison.Ordinal);
        Assert.Contains("deactivated", unban.Stdout, StringComparison.Ordinal);
        Assert.Contains($"tessera users reactivate {id}", unban.Stdout, StringComparison.Ordinal);
        Assert.False((await tessera.UserAsync(id)).GetProperty("banned").GetBoolean());
    }

    [Fact]
    public async Task Delete_and_refusals_from_the_server_keep_their_code()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, _) = await tessera.NewUserAsync(sessions: 1);

        var deleted = await tool.RunAsync("users", "delete", id, "--yes", "--json");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Equal(1, deleted.Json.GetProperty("revokedSessions").GetInt32());
        Assert.Equal("deleted", (await tessera.UserAsync(id)).GetProperty("status").GetString());

        var reactivate = await tool.RunAsync("users", "reactivate", id, "--json");
        Assert.Equal(1, reactivate.ExitCode);
        Assert.Equal("user_deleted", reactivate.Json.GetProperty("error").GetProperty("code").GetString());

        var self = await tool.RunAsync("users", "ban", "--email", LoopbackTesseraServer.AdminEmail, "--yes", "--json");
        Assert.Equal(1, self.ExitCode);
        Assert.Equal("cannot_target_self", self.Json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Dry_run_changes_nothing()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, _) = await tessera.NewUserAsync();

        var dry = await tool.RunAsync("users", "delete", id, "--dry-run", "--json");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.True(dry.Json.GetProperty("dryRun").GetBoolean());
        Assert.Equal("active", (await tessera.UserAsync(id)).GetProperty("status").GetString());
    }
}
