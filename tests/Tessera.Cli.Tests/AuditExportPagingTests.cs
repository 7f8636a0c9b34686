using System.Globalization;
using System.Text.Json;

namespace Tessera.Cli.Tests;

/// <summary>
/// audit export past one page of the API (1,000 events): every event once, newest first, where a page ends inside a
/// millisecond (a bulk batch writes all its events at one time). A server of its own, so that the counts are exact.
/// </summary>
public sealed class AuditExportPagingTests(CliServer tessera) : IClassFixture<CliServer>
{
    private const int Users = 100;

    [Fact]
    public async Task Export_of_more_than_a_thousand_events_gives_each_once_newest_first_across_a_page_end_inside_one_millisecond()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var ids = new List<string>();
        for (var i = 0; i < Users; i++)
        {
            ids.Add((await tessera.NewUserAsync(prefix: "page")).Id);
        }

        // Each request of 100 users is one batch on the server: its 100 events share one millisecond. 12 rounds and a
        // last half round put the end of the first page (the 1,000 newest) in the middle of such a group.
        for (var round = 0; round < 12; round++)
        {
            await tessera.AdminPostAsync("/v1/admin/users/bulk", new { action = round % 2 == 0 ? "deactivate" : "reactivate", userIds = ids });
        }

        await tessera.AdminPostAsync("/v1/admin/users/bulk", new { action = "deactivate", userIds = ids.Take(Users / 2) });
        var tool = await tessera.SignedInToolAsync();

        // The case under test: the first page's oldest event shares its millisecond with events of the next page.
        var firstPage = (await tessera.AdminGetAsync("/v1/admin/audit?limit=1000")).GetProperty("events").EnumerateArray().ToList();
        var edge = firstPage[^1].GetProperty("at").GetString()!;
        var edgeTime = DateTimeOffset.Parse(edge, CultureInfo.InvariantCulture);
        var atEdge = (await tessera.AdminGetAsync($"/v1/admin/audit?limit=1000&after={Q(edgeTime.AddMilliseconds(-1))}&before={Q(edgeTime.AddMilliseconds(1))}"))
            .GetProperty("events").GetArrayLength();
        Assert.True(atEdge > firstPage.Count(e => e.GetProperty("at").GetString() == edge), $"the page does not end inside a millisecond ({edge})");

        var json = await tool.RunAsync("audit", "export", "--since", since.ToString("O", CultureInfo.InvariantCulture), "--format", "json");

        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.DoesNotContain("warning", json.Stderr, StringComparison.OrdinalIgnoreCase);
        var exported = json.Json.EnumerateArray().ToList();
        var exportedIds = exported.Select(e => e.GetProperty("id").GetString()!).ToList();
        Assert.Equal(exportedIds.Count, exportedIds.Distinct(StringComparer.Ordinal).Count());
        Assert.True(exported.Count > 1000, $"{exported.Count} events");
        var ours = exported.Where(e => e.GetProperty("targetUserId").ValueKind == JsonValueKind.String && ids.Contains(e.GetProperty("targetUserId").GetString()!)).ToList();
        Assert.Equal(Users, ours.Count(e => Action(e) == "user.registered"));
        Assert.Equal(6 * Users + Users / 2, ours.Count(e => Action(e) == "user.deactivated"));
        Assert.Equal(6 * Users, ours.Count(e => Action(e) == "user.reactivated"));

        // Newest first, ties by id: each event strictly after the next in (at, id).
        for (var i = 1; i < exported.Count; i++)
        {
            var (newer, older) = (exported[i - 1], exported[i]);
            var order = DateTimeOffset.Parse(newer.GetProperty("at").GetString()!, CultureInfo.InvariantCulture)
                .CompareTo(DateTimeOffset.Parse(older.GetProperty("at").GetString()!, CultureInfo.InvariantCulture));
            Assert.True(order > 0 || (order == 0 && string.CompareOrdinal(newer.GetProperty("id").GetString(), older.GetProperty("id").GetString()) > 0),
                $"events {i - 1} and {i} out of order");
        }
    }

    private static string Action(JsonElement e) => e.GetProperty("action").GetString()!;

    private static string Q(DateTimeOffset time) => Uri.EscapeDataString(time.ToString("O", CultureInfo.InvariantCulture));
}
