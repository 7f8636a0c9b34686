using System.Globalization;
using Microsoft.AspNetCore.Razor.TagHelpers;

namespace Tessera.Server.Web;

/// <summary>Times as people read them: "3 minutes ago", with the exact time a hover away. tessera.js words them alike.</summary>
internal static class TimeDisplay
{
    public static string Exact(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Day(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>
    /// For a sentence written on the server (a notice): the time in the viewer's zone as the browser named it (an IANA id
    /// that tessera.js sends with the form), with the zone named; in UTC when it did not.
    /// </summary>
    public static string InZone(DateTimeOffset at, string? timeZoneId)
    {
        if (string.IsNullOrEmpty(timeZoneId) || timeZoneId == "UTC" || !TimeZoneInfo.TryFindSystemTimeZoneById(timeZoneId, out var zone))
        {
            return at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        }

        return $"{TimeZoneInfo.ConvertTime(at, zone).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} ({zone.Id})";
    }

    public static string Machine(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Relative(DateTimeOffset at, DateTimeOffset now)
    {
        var seconds = (at - now).TotalSeconds;
        var past = seconds <= 0;
        var abs = Math.Abs(seconds);
        if (abs < 45)
        {
            return past ? "just now" : "in a moment";
        }

        var (count, unit) = abs switch
        {
            < 90 => (1, "minute"),
            < 45 * 60 => ((int)Math.Round(abs / 60), "minute"),
            < 90 * 60 => (1, "hour"),
            < 22 * 3600 => ((int)Math.Round(abs / 3600), "hour"),
            < 36 * 3600 => (1, "day"),
            < 26 * 86400 => ((int)Math.Round(abs / 86400), "day"),
            < 45 * 86400 => (1, "month"),
            < 320 * 86400 => ((int)Math.Round(abs / (30 * 86400)), "month"),
            _ => (Math.Max(1, (int)Math.Round(abs / (365 * 86400))), "year"),
        };
        var words = $"{count} {unit}{(count == 1 ? string.Empty : "s")}";
        return past ? $"{words} ago" : $"in {words}";
    }
}

/// <summary>
/// <c>&lt;relative-time at="@when" /&gt;</c> renders <c>&lt;time datetime title&gt;3 minutes ago&lt;/time&gt;</c>;
/// with <c>exact</c> it shows the exact time (with <c>date</c>, the day) and keeps the relative one for the hover. The
/// server knows no viewer's time zone, so it writes UTC and says so; tessera.js rewrites exact times and days in the
/// viewer's zone, named, with the UTC time on hover. Without script, UTC stays, named as such.
/// </summary>
[HtmlTargetElement("relative-time", Attributes = "at", TagStructure = TagStructure.WithoutEndTag)]
public sealed class RelativeTimeTagHelper(TimeProvider clock) : TagHelper
{
    public DateTimeOffset At { get; set; }

    public bool Exact { get; set; }

    /// <summary>Only the day (with <see cref="Exact"/>).</summary>
    public bool Date { get; set; }

    public override void Process(TagHelperContext context, TagHelperOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var relative = TimeDisplay.Relative(At, clock.GetUtcNow());
        var exact = TimeDisplay.Exact(At);
        output.TagName = "time";
        output.TagMode = TagMode.StartTagAndEndTag;
        output.Attributes.SetAttribute("datetime", TimeDisplay.Machine(At));
        if (Exact)
        {
            // tessera.js words it in the viewer's zone and moves the UTC time to the hover.
            output.Attributes.SetAttribute("title", Date ? exact : relative);
            output.Attributes.SetAttribute("data-exact", Date ? "date" : "time");
            output.Content.SetContent(Date ? $"{TimeDisplay.Day(At)} (UTC)" : exact);
            return;
        }

        output.Attributes.SetAttribute("title", exact);
        output.Attributes.SetAttribute("data-relative", string.Empty);
        output.Content.SetContent(relative);
    }
}
