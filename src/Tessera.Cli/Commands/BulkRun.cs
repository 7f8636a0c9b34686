using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Tessera.Cli.Api;

namespace Tessera.Cli.Commands;

/// <summary>
/// One decision for many users from a file or standard input. Read and check every line first (nothing changes), then
/// apply through the server's bulk endpoint in batches, each one transaction on the server (a user it refuses left out
/// before anything is written for them), so at any moment every user is either done (and audited) or untouched. Users already in the wanted state are left alone, so a re-run
/// changes nothing. Ctrl+C stops between batches: the batch in flight finishes, the rest is reported as not attempted.
/// </summary>
internal sealed class BulkRun(CliContext context, TesseraApi api, UserAction action, string? reason, DateTimeOffset? until, bool dryRun, bool yes, int batchSize = BulkRun.BatchSize) : IDisposable
{
    /// <summary>Users per bulk request: small enough for a progress bar that moves and a quick stop on Ctrl+C.</summary>
    public const int BatchSize = 100;

    /// <summary>Concurrent lookups while checking; the server reads on many connections at once.</summary>
    private const int LookupParallelism = 8;

    private const int ShownProblems = 50;

    private readonly CancellationTokenSource _stop = new();
    private int _batchesDone;
    private TimeSpan _checking;
    private TimeSpan _inBulkRequests;
    private Exception? _failure;

    public async Task<int> RunAsync(string file, CancellationToken cancellationToken)
    {
        if (action.Destructive && !dryRun && !yes && (context.Json || !CliContext.Interactive || file == "-"))
        {
            throw new CliException("A bulk change needs a confirmation and nobody can answer here: pass --yes (or --dry-run to look first).", ExitCodes.Usage, "confirmation_required");
        }

        var entries = await ReadAsync(file, cancellationToken);
        Console.CancelKeyPress += OnCancel;
        try
        {
            var showProgress = !context.Json && !Console.IsOutputRedirected;
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            if (showProgress)
            {
                await context.Out.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .StartAsync(async progress =>
                    {
                        var check = progress.AddTask("Checking", maxValue: Math.Max(1, entries.Count));
                        await CheckAsync(entries, () => check.Increment(1), cancellationToken);
                        check.Value = check.MaxValue;
                    });
            }
            else
            {
                await CheckAsync(entries, () => { }, cancellationToken);
            }

            _checking = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            var pending = entries.Where(entry => entry.Outcome == Outcome.Pending).ToList();
            if (!dryRun && !_stop.IsCancellationRequested && pending.Count > 0)
            {
                if (!context.Confirm($"{action.Verb} {pending.Count} user(s)?", yes || !action.Destructive))
                {
                    context.Error.WriteLine("Nothing changed.");
                    return ExitCodes.Failed;
                }

                if (showProgress)
                {
                    await context.Out.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                        .StartAsync(async progress =>
                        {
                            var apply = progress.AddTask(Doing, maxValue: pending.Count);
                            await ApplyAsync(pending, done => apply.Increment(done), cancellationToken);
                        });
                }
                else
                {
                    await ApplyAsync(pending, _ => { }, cancellationToken);
                }
            }

            foreach (var entry in pending.Where(entry => entry.Outcome == Outcome.Pending))
            {
                entry.Outcome = dryRun && !_stop.IsCancellationRequested ? Outcome.WouldDo : Outcome.NotAttempted;
            }

            return Summarise(entries);
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
        }
    }

    public void Dispose() => _stop.Dispose();

    private void OnCancel(object? sender, ConsoleCancelEventArgs e)
    {
        // Keep the process: the batch in flight finishes (each of its users done or untouched), then the report.
        e.Cancel = true;
        if (!_stop.IsCancellationRequested)
        {
            context.Error.WriteLine("Stopping after the current batch (Ctrl+C)…");
            _stop.Cancel();
        }
    }

    private static async Task<List<BulkEntry>> ReadAsync(string file, CancellationToken cancellationToken)
    {
        TextReader reader;
        try
        {
            reader = file == "-" ? Console.In : new StreamReader(file);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Cannot read {file}: {exception.Message}", ExitCodes.Failed, "unreadable_file");
        }

        var entries = new List<BulkEntry>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        using (file == "-" ? null : reader)
        {
            var number = 0;
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                number++;
                var text = line.Trim();
                if (text.Length == 0 || text.StartsWith('#'))
                {
                    continue;
                }

                var entry = new BulkEntry(number, text);
                entries.Add(entry);
                if (!UserLookup.LooksValid(text))
                {
                    entry.Outcome = Outcome.Invalid;
                    entry.Detail = "not a user id (usr_…) or an email";
                    continue;
                }

                var key = UserLookup.IsEmail(text) ? text.ToLowerInvariant() : text;
                if (seen.TryGetValue(key, out var first))
                {
                    entry.Outcome = Outcome.Duplicate;
                    entry.Detail = $"same as line {first}";
                    continue;
                }

                seen[key] = number;
            }
        }

        return entries;
    }

    /// <summary>Resolves every entry to a user and sorts out the unknown and the already done; changes nothing.</summary>
    private async Task CheckAsync(List<BulkEntry> entries, Action checkedOne, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            await Parallel.ForEachAsync(entries, new ParallelOptions { MaxDegreeOfParallelism = LookupParallelism, CancellationToken = linked.Token }, async (entry, token) =>
            {
                if (entry.Outcome == Outcome.Pending)
                {
                    var id = await UserLookup.ResolveIdAsync(api, entry.Input, token);
                    var found = id is null ? null : await UserLookup.GetAsync(api, id, token);
                    if (found is not { } user)
                    {
                        entry.Outcome = Outcome.NotFound;
                    }
                    else
                    {
                        entry.UserId = id;
                        entry.Email = user.Prop("user").Str("email");
                        if (action.AlreadyDone(user.Prop("user"), until))
                        {
                            entry.Outcome = Outcome.Unchanged;
                        }
                    }
                }

                checkedOne();
            });
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped while only reading: nothing was changed; what was not checked is reported as not attempted.
        }

        // An email and an id (or two spellings) can name the same user: do it once, report the rest.
        var byUser = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in entries.Where(entry => entry.UserId is not null && entry.Outcome is Outcome.Pending or Outcome.Unchanged))
        {
            if (byUser.TryGetValue(entry.UserId!, out var first))
            {
                entry.Outcome = Outcome.Duplicate;
                entry.Detail = $"same user as line {first}";
            }
            else
            {
                byUser[entry.UserId!] = entry.Line;
            }
        }

        if (_stop.IsCancellationRequested)
        {
            foreach (var entry in entries.Where(entry => entry.Outcome == Outcome.Pending))
            {
                entry.Outcome = Outcome.NotAttempted;
            }
        }
    }

    private async Task ApplyAsync(List<BulkEntry> pending, Action<int> applied, CancellationToken cancellationToken)
    {
        foreach (var batch in pending.Chunk(batchSize))
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            // Not cancelled by Ctrl+C: the server does the batch in one transaction, and the answer says which users were done.
            JsonElement answer;
            var sent = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                answer = await api.PostAsync("/v1/admin/users/bulk",
                    new { action = action.Name, userIds = batch.Select(entry => entry.UserId!).ToArray(), reason, until }, cancellationToken);
            }
            catch (Exception exception) when (exception is CliException or ApiException && _batchesDone > 0)
            {
                // Some batches are done: report them. This batch's users may or may not be (each all or nothing); a re-run settles it.
                _failure = exception;
                foreach (var entry in batch)
                {
                    entry.Outcome = Outcome.Unknown;
                    entry.Detail = exception.Message;
                }

                return;
            }

            _inBulkRequests += System.Diagnostics.Stopwatch.GetElapsedTime(sent);
            var byId = batch.ToDictionary(entry => entry.UserId!, StringComparer.Ordinal);
            foreach (var result in answer.Prop("results").EnumerateArray())
            {
                if (result.Str("userId") is not { } id || !byId.TryGetValue(id, out var entry))
                {
                    continue;
                }

                if (result.Bool("ok"))
                {
                    entry.Outcome = Outcome.Done;
                    entry.RevokedSessions = result.Int("revokedSessions");
                }
                else
                {
                    entry.Outcome = result.Str("code") == "not_found" ? Outcome.NotFound : Outcome.Refused;
                    entry.Code = result.Str("code");
                }
            }

            _batchesDone++;
            applied(batch.Length);
        }
    }

    private int Summarise(List<BulkEntry> entries)
    {
        var counts = Enum.GetValues<Outcome>().Where(outcome => outcome != Outcome.Pending)
            .ToDictionary(outcome => outcome, outcome => entries.Count(entry => entry.Outcome == outcome));
        var interrupted = _stop.IsCancellationRequested;
        var failures = counts[Outcome.Invalid] + counts[Outcome.NotFound] + counts[Outcome.Refused] + counts[Outcome.NotAttempted] + counts[Outcome.Unknown];
        var succeeded = counts[Outcome.Done] + counts[Outcome.Unchanged] + counts[Outcome.WouldDo];
        var exitCode = interrupted || _failure is not null ? ExitCodes.PartlyDone : failures == 0 ? ExitCodes.Done : succeeded > 0 ? ExitCodes.PartlyDone : ExitCodes.Failed;
        if (context.Json)
        {
            CliContext.WriteJson(new
            {
                action = action.Name,
                dryRun,
                interrupted,
                error = _failure?.Message,
                counts = counts.ToDictionary(pair => Name(pair.Key), pair => pair.Value),
                revokedSessions = entries.Sum(entry => entry.RevokedSessions),
                // Where the time went: reading every user first, and waiting on the server's bulk endpoint.
                seconds = new { checking = Math.Round(_checking.TotalSeconds, 3), bulkRequests = Math.Round(_inBulkRequests.TotalSeconds, 3) },
                items = entries.Select(entry => new
                {
                    line = entry.Line,
                    input = entry.Input,
                    userId = entry.UserId,
                    outcome = Name(entry.Outcome),
                    code = entry.Code,
                    detail = entry.Detail,
                    revokedSessions = entry.RevokedSessions,
                }),
                exitCode,
            });
            return exitCode;
        }

        var problems = entries.Where(entry => entry.Outcome is Outcome.Invalid or Outcome.Duplicate or Outcome.NotFound or Outcome.Refused or Outcome.NotAttempted or Outcome.Unknown).ToList();
        if (problems.Count > 0)
        {
            var table = new Table().Title("Lines not done").AddColumns("Line", "Entry", "Outcome", "Why");
            foreach (var entry in problems.Take(ShownProblems))
            {
                table.AddRow(entry.Line.ToString(CultureInfo.InvariantCulture), Markup.Escape(entry.Input), Name(entry.Outcome), Markup.Escape(entry.Code ?? entry.Detail ?? string.Empty));
            }

            context.Out.Write(table);
            if (problems.Count > ShownProblems)
            {
                context.Out.WriteLine($"… and {problems.Count - ShownProblems} more (--json lists every line).");
            }
        }

        var summary = new Table().Title(action.Verb).AddColumns("Outcome", "Users");
        summary.Columns[1].RightAligned();
        foreach (var (outcome, count) in counts.Where(pair => pair.Value > 0 || pair.Key is Outcome.Done or Outcome.Refused or Outcome.NotFound))
        {
            if (dryRun && outcome == Outcome.Done)
            {
                continue;
            }

            summary.AddRow(Label(outcome), count.ToString("N0", CultureInfo.InvariantCulture));
        }

        context.Out.Write(summary);
        if (entries.Sum(entry => entry.RevokedSessions) is > 0 and var revoked)
        {
            context.Out.WriteLine($"{revoked.ToString("N0", CultureInfo.InvariantCulture)} session(s) ended.");
        }

        if (dryRun)
        {
            context.Out.WriteLine("Dry run: nothing changed.");
        }

        if (_failure is not null)
        {
            context.Error.MarkupLine($"[red]error:[/] {Markup.Escape(_failure.Message)}");
            context.Out.WriteLine($"Stopped by an error after {counts[Outcome.Done]} done (and audited); {counts[Outcome.Unknown]} in the failed batch may or may not be done, {counts[Outcome.NotAttempted]} not attempted. Run the same command again to finish: what is done is left alone.");
        }

        if (interrupted)
        {
            context.Out.WriteLine($"Stopped by Ctrl+C: {counts[Outcome.Done]} done (and audited), {counts[Outcome.NotAttempted]} not attempted. Run the same command again to finish.");
        }

        return exitCode;
    }

    private string Doing => action.Name switch
    {
        "ban" => "Banning",
        "unban" => "Unbanning",
        _ => action.Verb[..^1] + "ing",
    };

    private string Label(Outcome outcome) => outcome switch
    {
        Outcome.Done => "done",
        Outcome.WouldDo => $"would be {action.Past}",
        Outcome.Unchanged => $"already {action.Past}",
        Outcome.Refused => "refused",
        Outcome.NotFound => "not found",
        Outcome.Invalid => "garbage lines",
        Outcome.Duplicate => "duplicates (done once)",
        Outcome.NotAttempted => "not attempted",
        Outcome.Unknown => "not confirmed (error)",
        _ => Name(outcome),
    };

    private static string Name(Outcome outcome) => outcome switch
    {
        Outcome.WouldDo => "would_do",
        Outcome.NotFound => "not_found",
        Outcome.NotAttempted => "not_attempted",
        _ => outcome.ToString().ToLowerInvariant(),
    };

    private enum Outcome
    {
        Pending,
        Done,
        WouldDo,
        Unchanged,
        Refused,
        NotFound,
        Invalid,
        Duplicate,
        NotAttempted,
        Unknown,
    }

    private sealed class BulkEntry(int line, string input)
    {
        public int Line { get; } = line;

        public string Input { get; } = input;

        public string? UserId { get; set; }

        public string? Email { get; set; }

        public Outcome Outcome { get; set; } = Outcome.Pending;

        public string? Code { get; set; }

        public string? Detail { get; set; }

        public int RevokedSessions { get; set; }
    }
}
