namespace Tessera.Server.Web;

/// <summary>
/// A confirmation (<c>Shared/_ConfirmDialog.cshtml</c>): says what will happen and holds the form that does it. Its opener
/// (<c>Shared/_ConfirmOpener.cshtml</c>) is a plain form that asks for the page again with <c>?confirm=Id</c>, which shows
/// the confirmation as a step page of its own (<see cref="AsStep"/>) with Confirm and Cancel; tessera.js turns the opener
/// into a button that shows the same confirmation as a modal &lt;dialog&gt; instead. Without script, every action still works.
/// </summary>
internal sealed record ConfirmDialog(string Id, string Title, string Body, string ConfirmLabel, string Handler, bool Danger = true)
{
    public const string QueryKey = "confirm";

    /// <summary>Hidden fields the form posts (a name may come more than once: the users of a bulk action).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; init; } = [];

    /// <summary>A partial with more fields for the form (the ban's end and reason), or null.</summary>
    public string? FieldsPartial { get; init; }

    /// <summary>Rendered as the page's content (the step page without script), not as a &lt;dialog&gt;.</summary>
    public bool AsStep { get; init; }

    /// <summary>The confirmation the request asks for with <c>?confirm=Id</c>, as a step page; null for the page itself.</summary>
    public static ConfirmDialog? Requested(HttpRequest request, IEnumerable<ConfirmDialog> dialogs)
    {
        ArgumentNullException.ThrowIfNull(request);
        var id = request.Query[QueryKey].ToString();
        return id.Length == 0 ? null : dialogs.FirstOrDefault(d => d.Id == id) is { } step ? step with { AsStep = true } : null;
    }

    /// <summary>Adds an optional "Reason" field (kept in the audit log), posted as <c>reason</c>.</summary>
    public bool AsksReason { get; init; }

    /// <summary>Why the last try was refused, shown in the form (which then comes back as the step page).</summary>
    public string? Error { get; init; }

    /// <summary>What was typed in the fields of <see cref="FieldsPartial"/> before a refusal, by field name.</summary>
    public IReadOnlyDictionary<string, string?> Values { get; init; } = new Dictionary<string, string?>();
}

/// <summary>The button that asks for a <see cref="ConfirmDialog"/> (<c>Shared/_ConfirmOpener.cshtml</c>).</summary>
internal sealed record ConfirmOpener(string DialogId, string Label, string ButtonClass, bool Disabled = false);
