using System.Globalization;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>Reads samples out of /metrics (Prometheus text format).</summary>
public static class PrometheusText
{
    /// <summary>
    /// The value of <paramref name="series"/> (a name, or a name with its labels as written in the exposition), or
    /// null. OpenTelemetry's exporter writes a series without labels with empty braces (<c>name{} 3</c>); Prometheus
    /// reads that as <c>name 3</c>, and so does this.
    /// </summary>
    public static double? Sample(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            var rest = line.StartsWith(series + " ", StringComparison.Ordinal) ? line[(series.Length + 1)..]
                : !series.Contains('{', StringComparison.Ordinal) && line.StartsWith(series + "{} ", StringComparison.Ordinal) ? line[(series.Length + 3)..]
                : null;
            if (rest is not null)
            {
                return double.Parse(rest.Trim(), CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
