using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CsvHelper;
using Spectre.Console;
using Tessera.Cli.Api;

namespace Tessera.Cli.Commands;

/// <summary>tessera audit …: the audit log as it grows (tail, --follow) and all of it since a time (export, streamed).</summary>
internal static class AuditCommands
{
    /// <summary>The server's largest page.</summary>
    private const int PageSize = 1000;

    public static Command Create()
    {
        var audit = new Command("audit", "Read the audit log.");
        audit.Subcommands.Add(Tail());
        audit.Subcommands.Add(Export());
        return audit;
    }

    private static Command Tail()
    {
        var count = new Option<int>("--lines", "-n") { Description = "How many of the latest events to show first (1 to 1000).", DefaultValueFactory = _ => 20 };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep going: print new events as they happen (Ctrl+C to stop)." };
        var user = new Option<string?>("--user") { Description = "Only events with this user id as target or actor." };
        var action = new Option<string?>("--action") { Description = "Only this action (user.banned, session.revoked, …)." };
        var interval = new Option<double>("--interval") { Description = "With --follow: seconds between checks for new events.", DefaultValueFactory = _ => 1 };
        var command = new Command("tail", "Show the latest audit events, oldest of them first; with --follow, new ones as they happen.") { count, follow, user, action, interval };
        command.SetRun(async (context, cancellationToken) =>
        {
            using var api = context.SignedIn();
            var filter = Filter(context.ParseResult.GetValue(user), context.ParseResult.GetValue(action));
            var first = await api.GetAsync($"/v1/admin/audit?limit={context.ParseResult.GetValue(count)}{filter}", cancellationToken);
            var events = first.Prop("events").EnumerateArray().Reverse().ToList();
            var following = context.ParseResult.GetValue(follow);
            if (context.Json && !following)
            {
                CliContext.WriteJson(new { events });
                return ExitCodes.Done;
            }

            // Followed output is one event a line (JSON Lines with --json), so a pipe reads each as it comes.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            DateTimeOffset? newest = null;
            foreach (var item in events)
            {
                Print(context, item);
                Remember(item, seen, ref newest);
            }

            if (!following)
            {
                return ExitCodes.Done;
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                var wait = TimeSpan.FromSeconds(Math.Max(0.1, context.ParseResult.GetValue(interval)));
                while (!stop.IsCancellationRequested)
                {
                    // `after` is exclusive and events can share a millisecond: ask from just before the newest seen, skip what was printed.
                    var after = newest is { } at ? $"&after={Uri.EscapeDataString(at.AddMilliseconds(-1).ToString("O", CultureInfo.InvariantCulture))}" : string.Empty;
                    var answer = await api.GetAsync($"/v1/admin/audit?limit={PageSize}{filter}{after}", stop.Token);
                    foreach (var item in answer.Prop("events").EnumerateArray().Reverse())
                    {
                        if (item.Str("id") is { } id && !seen.Contains(id))
                        {
                            Print(context, item);
                            Remember(item, seen, ref newest);
                        }
                    }

                    await Console.Out.FlushAsync(stop.Token);
                    await Task.Delay(wait, stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C: a normal end for a follow.
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }

            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Export()
    {
        var since = new Option<DateTimeOffset>("--since") { Description = "Events after this time (ISO 8601, e.g. 2026-12-01T00:00Z).", Required = true };
        var until = new Option<DateTimeOffset?>("--until") { Description = "Events before this time (default: now)." };
        var format = new Option<string>("--format") { Description = "csv or json.", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("csv", "json");
        var user = new Option<string?>("--user") { Description = "Only events with this user id as target or actor." };
        var action = new Option<string?>("--action") { Description = "Only this action." };
        var command = new Command("export", "Write every audit event between --since and --until (newest first) to standard output as CSV or a JSON array, streamed page by page: no limit on size.")
        {
            since, until, format, user, action,
        };
        command.SetRun(async (context, cancellationToken) =>
        {
            using var api = context.SignedIn();
            var from = context.ParseResult.GetValue(since).ToUniversalTime();
            var to = context.ParseResult.GetValue(until)?.ToUniversalTime();
            var filter = Filter(context.ParseResult.GetValue(user), context.ParseResult.GetValue(action));
            var output = Console.OpenStandardOutput();
            await using var stream = output.ConfigureAwait(false);
            if (context.ParseResult.GetValue(format) == "csv")
            {
                await using var csv = CsvWriter.Create(output, CsvWriterOptions.Default, true);
                await csv.WriteRecordAsync(["id", "at", "action", "actorKind", "actorId", "targetUserId", "sessionIds", "reason", "ipAddress"], cancellationToken);
                await foreach (var page in PagesAsync(api, from, to, filter, context, cancellationToken))
                {
                    foreach (var item in page)
                    {
                        var actor = item.Prop("actor");
                        await csv.WriteRecordAsync(
                            [
                                item.Str("id") ?? string.Empty, item.Str("at") ?? string.Empty, item.Str("action") ?? string.Empty,
                                actor.Str("kind") ?? string.Empty, actor.Str("id") ?? string.Empty, item.Str("targetUserId") ?? string.Empty,
                                string.Join(' ', item.Prop("sessionIds").EnumerateArray().Select(id => id.GetString())),
                                item.Str("reason") ?? string.Empty, item.Str("ipAddress") ?? string.Empty,
                            ],
                            cancellationToken);
                    }

                    await csv.FlushAsync(cancellationToken);
                }
            }
            else
            {
                await using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
                writer.WriteStartArray();
                await foreach (var page in PagesAsync(api, from, to, filter, context, cancellationToken))
                {
                    foreach (var item in page)
                    {
                        item.WriteTo(writer);
                    }

                    await writer.FlushAsync(cancellationToken);
                }

                writer.WriteEndArray();
                await writer.FlushAsync(cancellationToken);
                await output.WriteAsync("\n"u8.ToArray(), cancellationToken);
            }

            return ExitCodes.Done;
        });
        return command;
    }

    /// <summary>
    /// Pages of up to 1000 events, newest first, walking back with <c>before</c>. Events can share a millisecond, so
    /// each next page starts a millisecond after the oldest seen and skips the ids it already gave.
    /// </summary>
    private static async IAsyncEnumerable<List<JsonElement>> PagesAsync(
        TesseraApi api, DateTimeOffset since, DateTimeOffset? until, string filter, CliContext context,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = $"&after={Uri.EscapeDataString(since.ToString("O", CultureInfo.InvariantCulture))}";
        var before = until;
        var seenAtEdge = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var bound = before is { } b ? $"&before={Uri.EscapeDataString(b.ToString("O", CultureInfo.InvariantCulture))}" : string.Empty;
            var answer = await api.GetAsync($"/v1/admin/audit?limit={PageSize}{filter}{after}{bound}", cancellationToken);
            var events = answer.Prop("events").EnumerateArray().ToList();
            var fresh = events.Where(item => item.Str("id") is { } id && !seenAtEdge.Contains(id)).ToList();
            if (fresh.Count > 0)
            {
                yield return fresh;
            }

            if (events.Count < PageSize)
            {
                yield break;
            }

            var oldest = DateTimeOffset.Parse(events[^1].Str("at")!, CultureInfo.InvariantCulture);
            if (fresh.Count == 0)
            {
                // A whole page in one millisecond: move past it rather than loop; say so, since events may be left out.
                context.Error.MarkupLine("[yellow]warning:[/] " + Markup.Escape($"more than {PageSize} events at {oldest:O}; some of them may be missing from the export."));
                before = oldest;
                seenAtEdge.Clear();
                continue;
            }

            seenAtEdge = events.Where(item => item.Str("at") == events[^1].Str("at")).Select(item => item.Str("id")!).ToHashSet(StringComparer.Ordinal);
            before = oldest.AddMilliseconds(1);
        }
    }

    private static string Filter(string? user, string? action) =>
        (user is { Length: > 0 } ? $"&userId={Uri.EscapeDataString(user)}" : string.Empty) +
        (action is { Length: > 0 } ? $"&action={Uri.EscapeDataString(action)}" : string.Empty);

    private static void Remember(JsonElement item, HashSet<string> seen, ref DateTimeOffset? newest)
    {
        if (item.Str("id") is { } id)
        {
            seen.Add(id);
        }

        if (item.Str("at") is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && (newest is null || at > newest))
        {
            newest = at;
        }
    }

    private static void Print(CliContext context, JsonElement item)
    {
        if (context.Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(item, CliJson.Options));
            return;
        }

        var actor = item.Prop("actor");
        var sessions = item.Prop("sessionIds").ValueKind == JsonValueKind.Array ? item.Prop("sessionIds").GetArrayLength() : 0;
        Console.Out.WriteLine(string.Join("  ", new[]
        {
            item.Str("at"),
            item.Str("action"),
            $"{actor.Str("kind")}:{actor.Str("id") ?? "-"}",
            $"target={item.Str("targetUserId") ?? "-"}",
            item.Str("reason") is { } reason ? $"reason={reason}" : null,
            sessions > 0 ? $"sessions={sessions}" : null,
        }.Where(part => part is not null)));
    }
}
