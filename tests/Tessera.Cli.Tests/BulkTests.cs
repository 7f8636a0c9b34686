using System.Diagnostics;
using System.Globalization;

namespace Tessera.Cli.Tests;

/// <summary>Bulk decisions from a file or standard input: the table, --json, partly refused, garbage lines, re-runs, dry runs, and a re-run.</summary>
public sealed class BulkTests(CliServer tessera) : IClassFixture<CliServer>
{
    [Fact]
    public async Task A_partly_refused_bulk_is_exit_3_with_a_table_of_what_was_not_done()
    {
        var tool = await tessera.SignedInToolAsync();
        var (first, firstEmail) = await tessera.NewUserAsync(sessions: 2);
        var (second, _) = await tessera.NewUserAsync(sessions: 1);
        var (gone, _) = await tessera.NewUserAsync();
        Assert.Equal(0, (await tool.RunAsync("users", "delete", gone, "--yes")).ExitCode);
        var file = WriteFile($"{firstEmail}\n{second}\n{gone}\nusr_doesnotexist\n{LoopbackTesseraServer.AdminEmail}\n");

        var result = await tool.RunAsync("users", "ban", "--from-file", file, "--reason", "bulk test", "--yes");

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("Lines not done", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("user_deleted", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("cannot_target_self", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("usr_doesnotexist", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"done\s*│\s*2", result.Stdout);
        Assert.Matches(@"refused\s*│\s*2", result.Stdout);
        Assert.Matches(@"not found\s*│\s*1", result.Stdout);
        Assert.Contains("3 session(s) ended.", result.Stdout, StringComparison.Ordinal);
        Assert.True((await tessera.UserAsync(first)).GetProperty("banned").GetBoolean());
        Assert.True((await tessera.UserAsync(second)).GetProperty("banned").GetBoolean());
        Assert.False((await tessera.UserAsync(await AdminIdAsync(tool))).GetProperty("banned").GetBoolean());

        var banned = (await tessera.AdminGetAsync($"/v1/admin/audit?userId={first}&action=user.banned")).GetProperty("events");
        Assert.Equal("cli", Assert.Single(banned.EnumerateArray()).GetProperty("actor").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Blank_lines_duplicates_and_garbage_are_reported_per_line_and_nothing_else_is_skipped_and_a_rerun_changes_nothing()
    {
        var tool = await tessera.SignedInToolAsync();
        var (a, aEmail) = await tessera.NewUserAsync(sessions: 1);
        var (b, bEmail) = await tessera.NewUserAsync(sessions: 1);
        var (c, _) = await tessera.NewUserAsync();
        var input = $"\n{a}\n\n   \n{aEmail.ToUpperInvariant()}\nnot an id\n{bEmail}\n{b}\n@@@\n{c}\n{a}\n";

        var result = await tool.RunWithInputAsync(input, "users", "deactivate", "--from-file", "-", "--yes", "--json");

        Assert.True(result.ExitCode == 3, result.ToString());
        var counts = result.Json.GetProperty("counts");
        Assert.Equal(3, counts.GetProperty("done").GetInt32());
        Assert.Equal(2, counts.GetProperty("invalid").GetInt32());
        Assert.Equal(3, counts.GetProperty("duplicate").GetInt32());
        Assert.Equal(2, result.Json.GetProperty("revokedSessions").GetInt32());
        var items = result.Json.GetProperty("items").EnumerateArray().ToDictionary(item => item.GetProperty("line").GetInt32());
        Assert.Equal([2, 5, 6, 7, 8, 9, 10, 11], items.Keys.Order());
        Assert.Equal("done", items[2].GetProperty("outcome").GetString());
        Assert.Equal("duplicate", items[5].GetProperty("outcome").GetString());
        Assert.Equal("same user as line 2", items[5].GetProperty("detail").GetString());
        Assert.Equal("invalid", items[6].GetProperty("outcome").GetString());
        Assert.Equal("not an id", items[6].GetProperty("input").GetString());
        Assert.Equal("done", items[7].GetProperty("outcome").GetString());
        Assert.Equal("duplicate", items[8].GetProperty("outcome").GetString());
        Assert.Equal("invalid", items[9].GetProperty("outcome").GetString());
        Assert.Equal("done", items[10].GetProperty("outcome").GetString());
        Assert.Equal("duplicate", items[11].GetProperty("outcome").GetString());
        Assert.Equal("same as line 2", items[11].GetProperty("detail").GetString());
        foreach (var id in new[] { a, b, c })
        {
            Assert.Equal("deactivated", (await tessera.UserAsync(id)).GetProperty("status").GetString());
        }

        var auditBefore = await AuditCountAsync(a, b, c);
        var again = await tool.RunWithInputAsync($"{a}\n{bEmail}\n{c}\n", "users", "deactivate", "--from-file", "-", "--yes", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(3, again.Json.GetProperty("counts").GetProperty("unchanged").GetInt32());
        Assert.Equal(0, again.Json.GetProperty("counts").GetProperty("done").GetInt32());
        Assert.Equal(auditBefore, await AuditCountAsync(a, b, c));
    }

    [Fact]
    public async Task Dry_run_says_what_would_be_done_and_changes_nothing()
    {
        var tool = await tessera.SignedInToolAsync();
        var (a, _) = await tessera.NewUserAsync();
        var (b, _) = await tessera.NewUserAsync();
        Assert.Equal(0, (await tool.RunAsync("users", "deactivate", b, "--yes")).ExitCode);
        var file = WriteFile($"{a}\n{b}\n");

        var dry = await tool.RunAsync("users", "deactivate", "--from-file", file, "--dry-run");

        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("Dry run: nothing changed.", dry.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"would be deactivated\s*│\s*1", dry.Stdout);
        Assert.Matches(@"already deactivated\s*│\s*1", dry.Stdout);
        Assert.Equal("active", (await tessera.UserAsync(a)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_bulk_change_from_standard_input_needs_yes()
    {
        var tool = await tessera.SignedInToolAsync();
        var (a, _) = await tessera.NewUserAsync();

        var refused = await tool.RunWithInputAsync($"{a}\n", "users", "delete", "--from-file", "-");

        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Equal("active", (await tessera.UserAsync(a)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ctrl_C_in_the_middle_of_a_bulk_stops_between_batches_and_reports_what_was_done()
    {
        var tool = await tessera.SignedInToolAsync();
        var users = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            users.Add((await tessera.NewUserAsync(prefix: "ctrlc")).Id);
        }

        var file = WriteFile(string.Join('\n', users));

        // The tool reaches Tessera through a proxy that holds the third bulk request: Ctrl+C lands while it is in flight.
        await using var proxy = new HoldingProxy(new Uri(tessera.Url).Port, holdAt: 3);
        tool.Environment["TESSERA_URL"] = $"http://127.0.0.1:{proxy.Port}";
        using var process = Process.Start(tool.StartInfo("users", "deactivate", "--from-file", file, "--yes", "--json", "--batch-size", "1"))!;
        var stdout = Task.Run(() => process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = Task.Run(() => ReadErrorsAsync(process, stopping), TestContext.Current.CancellationToken);

        await proxy.Holding.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, kill.ExitCode);
        }

        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        proxy.Release();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        tool.Environment.Remove("TESSERA_URL");

        var result = new CliResult(process.ExitCode, await stdout, await stderr);
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.True(result.Json.GetProperty("interrupted").GetBoolean());
        var counts = result.Json.GetProperty("counts");

        // The batch in flight when Ctrl+C came finished; none started after it.
        var done = counts.GetProperty("done").GetInt32();
        Assert.True(done == 3, result.ToString());
        Assert.Equal(users.Count, done + counts.GetProperty("not_attempted").GetInt32());

        // Nothing half-done: every user is exactly as reported, and each one done is audited with actor kind cli.
        foreach (var item in result.Json.GetProperty("items").EnumerateArray())
        {
            var id = item.GetProperty("userId").GetString()!;
            var status = (await tessera.UserAsync(id)).GetProperty("status").GetString();
            var events = (await tessera.AdminGetAsync($"/v1/admin/audit?userId={id}&action=user.deactivated")).GetProperty("events");
            if (item.GetProperty("outcome").GetString() == "done")
            {
                Assert.Equal("deactivated", status);
                Assert.Equal("cli", Assert.Single(events.EnumerateArray()).GetProperty("actor").GetProperty("kind").GetString());
            }
            else
            {
                Assert.Equal("not_attempted", item.GetProperty("outcome").GetString());
                Assert.Equal("active", status);
                Assert.Empty(events.EnumerateArray());
            }
        }

        // Running it again finishes the job and leaves the done ones alone.
        var rerun = await tool.RunAsync("users", "deactivate", "--from-file", file, "--yes", "--json");
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.Equal(done, rerun.Json.GetProperty("counts").GetProperty("unchanged").GetInt32());
        Assert.Equal(users.Count - done, rerun.Json.GetProperty("counts").GetProperty("done").GetInt32());
    }

    private static async Task<string> ReadErrorsAsync(Process process, TaskCompletionSource stopping)
    {
        var all = new System.Text.StringBuilder();
        while (await process.StandardError.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
        {
            all.AppendLine(line);
            if (line.Contains("Stopping after the current batch", StringComparison.Ordinal))
            {
                stopping.TrySetResult();
            }
        }

        return all.ToString();
    }

    private async Task<int> AuditCountAsync(params string[] ids)
    {
        var total = 0;
        foreach (var id in ids)
        {
            total += (await tessera.AdminGetAsync($"/v1/admin/audit?userId={id}")).GetProperty("events").GetArrayLength();
        }

        return total;
    }

    private static async Task<string> AdminIdAsync(CliProcess tool) =>
        (await tool.RunAsync("whoami", "--json")).Json.GetProperty("user").GetProperty("id").GetString()!;

    private string WriteFile(string text)
    {
        var path = Path.Combine(tessera.Server.DataDirectory, $"bulk-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, text);
        return path;
    }
}
