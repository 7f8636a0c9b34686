using System.Globalization;
using System.Text;

namespace Tessera.RelyingLatency;

/// <summary>The summary (median, p90, p99, max), the checks, and the target of issue 10.</summary>
internal static class Report
{
    /// <summary>Issue 10: p99 from the revoking call returning to the app refusing the session and closing its WebSocket.</summary>
    private const double Target = 100;

    private const string ExpectedReason = "revoked_by_admin";

    private const int SessionEndedCloseStatus = 4001;

    /// <summary>Prints the report; true when the run is unusable, broke the promise or missed the target.</summary>
    public static bool Print(TextWriter output, IReadOnlyList<Sample> samples, Options options)
    {
        var o = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(o, $"{samples.Count} revocations measured ({options.Warmup} warm-up not counted), each DELETE /v1/admin/users/{{id}}/sessions/{{id}} at Tessera with the session's WebSocket open at the app; ms from the moment the revoking call returned (negative: before it returned)"));
        output.WriteLine();
        output.WriteLine(string.Create(o, $"{"",-58} {"n",6} {"p50",9} {"p90",9} {"p99",9} {"max",9}"));
        Row(output, "revoking call (sent -> returned)", samples.Select(s => s.Revoke));
        Row(output, "returned -> WebSocket close frame at the client", samples.Select(s => s.Close));
        Row(output, "returned -> answer to the request sent after it", samples.Select(s => s.Refusal));
        var both = Row(output, "returned -> both (the later of close and refusal)", samples.Select(s => s.Both));
        Row(output, "sent -> WebSocket close frame at the client", samples.Select(s => s.Close + s.Revoke));
        Row(output, "(set-up) connect the WebSocket -> \"open\" received", samples.Select(s => s.Open));
        Row(output, "(clean-up) returned -> close handshake done", samples.Select(s => s.Finish));
        output.WriteLine();

        var closedBefore = samples.Count(s => s.Close < 0);
        var notRevoked = samples.Count(s => s.RevokeStatus != 204);
        var notClosed = samples.Count(s => double.IsNaN(s.Close));
        var wrongClose = samples.Count(s => !double.IsNaN(s.Close) && (s.CloseStatus != SessionEndedCloseStatus || s.CloseReason != ExpectedReason));
        var accepted = samples.Count(s => s.Accepted);
        var answers = string.Join(", ", samples.GroupBy(s => $"{s.RequestStatus} {s.RequestCode ?? "-"}").OrderByDescending(g => g.Count()).Select(g => $"{g.Key}: {g.Count()}"));
        output.WriteLine(string.Create(o, $"close frame arrived before the revoking call returned: {closedBefore} of {samples.Count} (the app closes sockets before it acknowledges the event, and the call waits for that acknowledgement)"));
        output.WriteLine(string.Create(o, $"requests sent after the call returned: {answers}"));
        output.WriteLine(string.Create(o, $"checks: revoke not 204: {notRevoked}; WebSocket never closed within {5} s: {notClosed}; closed otherwise than {SessionEndedCloseStatus} {ExpectedReason}: {wrongClose}; requests accepted after the call returned: {accepted}"));

        var unusable = samples.Count == 0 || notRevoked > 0 || notClosed > 0 || wrongClose > 0;
        var met = !unusable && accepted == 0 && both.P99 < Target;
        output.WriteLine(string.Create(o, $"target (p99 returned -> refused and closed < {Target} ms, 0 accepted): {(met ? "met" : "MISSED")} (p99 {both.P99:F2} ms, {accepted} accepted)"));
        return !met;
    }

    public static async Task WriteCsvAsync(string path, IReadOnlyList<Sample> samples, CancellationToken cancellationToken)
    {
        var csv = new StringBuilder();
        csv.AppendLine("index,session_id,revoke_status,revoke_ms,close_ms,close_status,close_reason,request_ms,request_status,request_code");
        foreach (var s in samples)
        {
            csv.AppendLine(string.Join(',', [
                I(s.Index), s.SessionId, I(s.RevokeStatus), F(s.Revoke), F(s.Close), s.CloseStatus is { } c ? I(c) : "", s.CloseReason ?? "",
                F(s.Refusal), I(s.RequestStatus), s.RequestCode ?? "",
            ]));
        }

        await File.WriteAllTextAsync(path, csv.ToString(), cancellationToken);

        static string F(double value) => double.IsNaN(value) ? "" : value.ToString("F4", CultureInfo.InvariantCulture);

        static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
    }

    private static (int N, double P99) Row(TextWriter output, string label, IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        var o = CultureInfo.InvariantCulture;
        if (sorted.Length == 0)
        {
            output.WriteLine(string.Create(o, $"{label,-58} {0,6} {"-",9} {"-",9} {"-",9} {"-",9}"));
            return (0, double.NaN);
        }

        var p99 = Percentile(sorted, 0.99);
        output.WriteLine(string.Create(o, $"{label,-58} {sorted.Length,6} {Percentile(sorted, 0.50),9:F2} {Percentile(sorted, 0.90),9:F2} {p99,9:F2} {sorted[^1],9:F2}"));
        return (sorted.Length, p99);
    }

    /// <summary>Nearest rank.</summary>
    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
