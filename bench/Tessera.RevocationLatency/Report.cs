using System.Globalization;
using System.Text;

namespace Tessera.RevocationLatency;

/// <summary>The raw samples as CSV, one line per measured revocation, times in ms from t0 (empty when never).</summary>
internal static class Samples
{
    public static async Task WriteCsvAsync(string path, IReadOnlyList<RevocationSample> samples, CancellationToken cancellationToken)
    {
        var csv = new StringBuilder();
        csv.AppendLine(
            "index,session_id,revoke_status,revoke_ms," +
            "b_first_reject_start_ms,b_first_reject_end_ms,b_last_accept_start_ms,b_last_accept_end_ms,b_reject_code,b_polls,b_accepted_after_return,b_other_answers," +
            "c_first_reject_start_ms,c_first_reject_end_ms,c_last_accept_start_ms,c_last_accept_end_ms,c_reject_code,c_polls,c_accepted_after_return,c_other_answers," +
            "event_ms,event_reason");
        foreach (var s in samples)
        {
            csv.AppendLine(string.Join(',', [
                I(s.Index), s.SessionId, I(s.RevokeStatus), F(s.Revoke),
                .. Node(s.B), .. Node(s.C),
                F(s.Event), s.EventReason ?? "",
            ]));
        }

        await File.WriteAllTextAsync(path, csv.ToString(), cancellationToken);

        static string[] Node(NodeObservation n) =>
        [
            F(n.FirstRejectStart), F(n.FirstRejectEnd), F(n.LastAcceptStart), F(n.LastAcceptEnd), n.RejectCode ?? "",
            I(n.Polls), I(n.AcceptedAfterReturn), I(n.OtherAnswers),
        ];
    }

    private static string F(double value) => double.IsNaN(value) ? "" : value.ToString("F4", CultureInfo.InvariantCulture);

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The summary table (median, p90, p99, max) and the checks of the targets and of the promise.</summary>
internal static class Report
{
    /// <summary>Issue 3: p99 from revoke to rejection everywhere under 10 ms, to the client event under 50 ms.</summary>
    private const double RejectionTarget = 10;
    private const double EventTarget = 50;

    /// <summary>Prints the report; true when the run is unusable or broke the promise.</summary>
    public static bool Print(TextWriter output, IReadOnlyList<RevocationSample> samples, BenchOptions options)
    {
        var o = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(o, $"{samples.Count} revocations measured ({options.Warmup} warm-up not counted), {(options.External ? $"the user deactivated by a separate {options.Via.ToString().ToLowerInvariant()} process (t0 = process started; the revoke row is its run to exit)" : $"revoke on A by the {options.Via.ToString().ToLowerInvariant()} path")}; pollers {(options.PollPause > TimeSpan.Zero ? $"pause {options.PollPause.TotalMilliseconds} ms between checks" : "back to back")}; ms from t0 = revoke sent"));
        output.WriteLine();
        output.WriteLine(string.Create(o, $"{"",-52} {"n",6} {"median",9} {"p90",9} {"p99",9} {"max",9}"));
        Row(output, "revoke call on A (t0 -> answer)", samples.Select(s => s.Revoke));
        Row(output, "t0 -> rejection on B (end of first 401)", samples.Select(s => s.B.FirstRejectEnd));
        Row(output, "t0 -> rejection on B (start of first 401 request)", samples.Select(s => s.B.FirstRejectStart));
        Row(output, "t0 -> rejection on C (end of first 401)", samples.Select(s => s.C.FirstRejectEnd));
        Row(output, "t0 -> rejection on C (start of first 401 request)", samples.Select(s => s.C.FirstRejectStart));
        var both = Row(output, "t0 -> rejection on B and C (later end)", samples.Select(s => s.BothRejected));
        var events = Row(output, "t0 -> session.revoked on C's stream", samples.Select(s => s.Event));
        if (options.External)
        {
            // The commit happens between t0 (the process started) and its exit: these bound commit -> rejection from below.
            Row(output, "process exit -> rejection on B and C (later end)", samples.Select(s => s.BothRejected - s.Revoke));
            Row(output, "process exit -> session.revoked on C's stream", samples.Select(s => s.Event - s.Revoke));
        }

        Row(output, "t0 -> start of the last accepted check, B", samples.Select(s => s.B.LastAcceptStart));
        Row(output, "t0 -> start of the last accepted check, C", samples.Select(s => s.C.LastAcceptStart));
        Row(output, "checks per node per revocation, B", samples.Select(s => (double)s.B.Polls));
        Row(output, "checks per node per revocation, C", samples.Select(s => (double)s.C.Polls));
        output.WriteLine();

        // The tail moves with the machine's load and with the JIT (a node's first revocations run its least optimized
        // code): the p99 per block of 100, in the order measured, shows which.
        output.WriteLine("p99 per block of 100 revocations, in order (revoke call / later end of rejection on B and C):");
        output.WriteLine(string.Join(' ', samples.Chunk(100).Select(block => string.Create(o,
            $"{Percentile([.. block.Select(s => s.Revoke).Order()], 99):F1}/{Percentile([.. block.Select(s => s.BothRejected).Where(v => !double.IsNaN(v)).Order()], 99):F1}"))));
        output.WriteLine();

        var notRevoked = samples.Count(s => s.RevokeStatus != 204);
        var noReject = samples.Count(s => double.IsNaN(s.BothRejected));
        var noEvent = samples.Count(s => double.IsNaN(s.Event));
        var expectedReason = options.External ? "user_deactivated" : options.Via == RevokePath.Admin ? "revoked_by_admin" : "revoked_by_user";
        var expectedCode = options.External ? "account_deactivated" : "session_revoked";
        var wrongReason = samples.Count(s => s.EventReason is not null && s.EventReason != expectedReason);
        var wrongCode = samples.Count(s => (s.B.RejectCode ?? expectedCode) != expectedCode || (s.C.RejectCode ?? expectedCode) != expectedCode);
        var other = samples.Sum(s => s.B.OtherAnswers + s.C.OtherAnswers);
        var violations = samples.Sum(s => s.B.AcceptedAfterReturn + s.C.AcceptedAfterReturn);
        var rejectedAfterReturn = samples.Count(s => s.B.FirstRejectStart > s.Revoke || s.C.FirstRejectStart > s.Revoke);
        output.WriteLine(string.Create(o, $"revokes not answered 204:                         {notRevoked}"));
        output.WriteLine(string.Create(o, $"revocations without a 401 on B or C within 5 s:   {noReject}"));
        output.WriteLine(string.Create(o, $"revocations without session.revoked within 5 s:   {noEvent}"));
        output.WriteLine(string.Create(o, $"events whose reason was not {expectedReason}:     {wrongReason}"));
        output.WriteLine(string.Create(o, $"401s whose code was not {expectedCode}:          {wrongCode}"));
        output.WriteLine(string.Create(o, $"checks answered neither 200 nor 401:              {other}"));
        output.WriteLine(string.Create(o, $"revocations whose first 401 came from a check begun after the revoke returned (no check of that node was in flight then): {rejectedAfterReturn}"));
        output.WriteLine(string.Create(o, $"PROMISE: checks begun after the revoke returned and accepted (must be 0): {violations}"));
        output.WriteLine();
        output.WriteLine(Verdict($"p99 t0 -> rejection on B and C < {RejectionTarget} ms", both, RejectionTarget));
        output.WriteLine(Verdict($"p99 t0 -> session.revoked on C < {EventTarget} ms", events, EventTarget));
        return violations > 0 || noReject > 0 || notRevoked > 0;
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static double Row(TextWriter output, string name, IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToList();
        var p99 = Percentile(sorted, 99);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-52} {sorted.Count,6} {Percentile(sorted, 50),9:F3} {Percentile(sorted, 90),9:F3} {p99,9:F3} {Percentile(sorted, 100),9:F3}"));
        return p99;
    }

    private static string Verdict(string target, double p99, double limit) =>
        string.Create(CultureInfo.InvariantCulture, $"target {target}: {(p99 < limit ? "met" : "MISSED")} (p99 {p99:F3} ms)");
}
