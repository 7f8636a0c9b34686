using System.Diagnostics;

namespace Tessera.Cli.Tests;

/// <summary>sessions list/revoke, audit tail (and --follow) and audit export in CSV and JSON.</summary>
public sealed class SessionsAndAuditTests(CliServer tessera) : IClassFixture<CliServer>
{
    [Fact]
    public async Task Sessions_list_and_revoke_one_then_all()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, email) = await tessera.NewUserAsync();
        var first = await tessera.LoginAsync(email);
        var second = await tessera.LoginAsync(email);
        var third = await tessera.LoginAsync(email);

        var list = await tool.RunAsync("sessions", "list", "--user", email, "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(id, list.Json.GetProperty("userId").GetString());
        var sessions = list.Json.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToList();
        Assert.Equal(3, sessions.Count);

        var one = await tool.RunAsync("sessions", "revoke", sessions[0], "--user", id, "--json");
        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.Equal(2, new[] { await tessera.HoldsAsync(first), await tessera.HoldsAsync(second), await tessera.HoldsAsync(third) }.Count(holds => holds));

        var again = await tool.RunAsync("sessions", "revoke", sessions[0], "--user", id, "--json");
        Assert.Equal(1, again.ExitCode);
        Assert.Equal("not_found", again.Json.GetProperty("error").GetProperty("code").GetString());

        Assert.Equal(2, (await tool.RunAsync("sessions", "revoke", "--user", id, "--all")).ExitCode);
        var all = await tool.RunAsync("sessions", "revoke", "--user", email, "--all", "--yes", "--json");
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Equal(2, all.Json.GetProperty("revoked").GetInt32());
        Assert.False(await tessera.HoldsAsync(first) || await tessera.HoldsAsync(second) || await tessera.HoldsAsync(third));

        var text = await tool.RunAsync("sessions", "list", "--user", id);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("Live sessions of", text.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_tail_shows_the_latest_events_and_follow_prints_new_ones_as_they_happen()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, _) = await tessera.NewUserAsync();

        var tail = await tool.RunAsync("audit", "tail", "--user", id, "--json");
        Assert.True(tail.ExitCode == 0, tail.ToString());
        Assert.Equal("user.registered", Assert.Single(tail.Json.GetProperty("events").EnumerateArray()).GetProperty("action").GetString());

        using var follow = Process.Start(tool.StartInfo("audit", "tail", "--follow", "--user", id, "--json", "--interval", "0.2"))!;
        try
        {
            var lines = Task.Run(async () =>
            {
                var seen = new List<string>();
                while (await follow.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
                {
                    seen.Add(line);
                    if (line.Contains("user.banned", StringComparison.Ordinal))
                    {
                        return seen;
                    }
                }

                return seen;
            }, TestContext.Current.CancellationToken);

            Assert.Equal(0, (await tool.RunAsync("users", "ban", id, "--yes")).ExitCode);
            var printed = await lines.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            var banned = JsonDocument.Parse(printed[^1]).RootElement;
            Assert.Equal("user.banned", banned.GetProperty("action").GetString());
            Assert.Equal("cli", banned.GetProperty("actor").GetProperty("kind").GetString());
            Assert.Equal(1, printed.Count(line => line.Contains("user.registered", StringComparison.Ordinal)));
        }
        finally
        {
            follow.Kill(entireProcessTree: true);
            await follow.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Sessions_revoke_by_id_alone_finds_the_user_and_ends_only_that_session()
    {
        var tool = await tessera.SignedInToolAsync();
        var (id, email) = await tessera.NewUserAsync();
        var first = await tessera.LoginAsync(email);
        var second = await tessera.LoginAsync(email);
        var sessions = (await tessera.AdminGetAsync($"/v1/admin/users/{id}/sessions")).GetProperty("sessions").EnumerateArray()
            .Select(s => s.GetProperty("id").GetString()!).ToList();

        var one = await tool.RunAsync("sessions", "revoke", sessions[0], "--json");

        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.Equal(id, one.Json.GetProperty("userId").GetString());
        Assert.Equal(sessions[0], one.Json.GetProperty("sessionId").GetString());
        Assert.Equal(1, new[] { await tessera.HoldsAsync(first), await tessera.HoldsAsync(second) }.Count(holds => holds));

        var text = await tool.RunAsync("sessions", "revoke", sessions[1]);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains(email, text.Stdout, StringComparison.Ordinal);
        Assert.False(await tessera.HoldsAsync(first) || await tessera.HoldsAsync(second));

        var again = await tool.RunAsync("sessions", "revoke", sessions[0], "--json");
        Assert.Equal(1, again.ExitCode);
        Assert.Equal("not_found", again.Json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, (await tool.RunAsync("sessions", "revoke", "--all")).ExitCode);
    }

    [Fact]
    public async Task Audit_export_streams_every_event_since_a_time_as_csv_or_json()
    {
        var tool = await tessera.SignedInToolAsync();
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add((await tessera.NewUserAsync()).Id);
        }

        Assert.Equal(0, (await tool.RunWithInputAsync(string.Join('\n', ids), "users", "deactivate", "--from-file", "-", "--yes", "--reason", "quoted, \"reason\"")).ExitCode);
        var expected = (await tessera.AdminGetAsync($"/v1/admin/audit?after={Uri.EscapeDataString(since.ToString("O"))}&limit=1000")).GetProperty("events")
            .EnumerateArray().Select(item => item.GetProperty("id").GetString()!).ToList();
        Assert.True(expected.Count >= 24);

        var json = await tool.RunAsync("audit", "export", "--since", since.ToString("O"), "--format", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var exported = json.Json.EnumerateArray().Select(item => item.GetProperty("id").GetString()!).ToList();
        Assert.Equal(expected, exported.Take(expected.Count));
        Assert.Equal(exported.Count, exported.Distinct().Count());

        var csv = await tool.RunAsync("audit", "export", "--since", since.ToString("O"), "--format", "csv", "--action", "user.deactivated");
        Assert.True(csv.ExitCode == 0, csv.ToString());
        var rows = csv.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("id,at,action,actorKind,actorId,targetUserId,sessionIds,reason,ipAddress", rows[0].TrimEnd('\r'));
        Assert.Equal(12, rows.Length - 1);
        Assert.All(rows.Skip(1), row => Assert.Contains(",user.deactivated,cli,", row, StringComparison.Ordinal));
        Assert.All(rows.Skip(1), row => Assert.Contains("\"quoted, \"\"reason\"\"\"", row, StringComparison.Ordinal));
    }
}
