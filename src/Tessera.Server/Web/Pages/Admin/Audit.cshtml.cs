using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Tessera.Core.Administration;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Server.Web.Pages.Admin;

/// <summary>/admin/audit: the audit log, newest first, filtered by user, action and time, a page at a time.</summary>
internal sealed class AuditModel(UserAdministration admin) : AdminPageModel
{
    public const int PageSize = 50;

    /// <summary>A user id, or an email address (looked up).</summary>
    [BindProperty(SupportsGet = true, Name = "user")]
    public string? UserFilter { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Action { get; set; }

    /// <summary>As typed (local time); <see cref="AfterUtc"/> is the same instant from tessera.js.</summary>
    [BindProperty(SupportsGet = true)]
    public string? After { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? AfterUtc { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Before { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? BeforeUtc { get; set; }

    public AuditTable Table { get; private set; } = AuditTable.Empty;

    public string? FilterError { get; private set; }

    public string? OlderLink { get; private set; }

    public static IReadOnlyList<string> Actions { get; } = AuditActions.All.Order(StringComparer.Ordinal).ToList();

    public async Task<IActionResult> OnGetAsync()
    {
        var cancellationToken = HttpContext.RequestAborted;
        string? userId = null;
        if (!string.IsNullOrWhiteSpace(UserFilter))
        {
            userId = await ResolveUserAsync(UserFilter.Trim(), cancellationToken);
            if (userId is null)
            {
                FilterError = "No user has that email address.";
                return Page();
            }
        }

        if (!string.IsNullOrEmpty(Action) && !AuditActions.All.Contains(Action))
        {
            Action = null;
        }

        var after = ParseTime(AfterUtc, After);
        var before = ParseTime(BeforeUtc, Before);
        if ((after is null && !string.IsNullOrEmpty(After)) || (before is null && !string.IsNullOrEmpty(Before)))
        {
            FilterError = "A time filter is not a date and time.";
            return Page();
        }

        var events = await admin.QueryAuditAsync(new AuditQuery(userId, Action, after, before, PageSize + 1), cancellationToken);
        var shown = events.Take(PageSize).ToList();
        if (events.Count > PageSize)
        {
            OlderLink = Link(shown[^1].At);
        }

        Table = await AuditTable.CreateAsync(shown, admin, cancellationToken);
        return Page();
    }

    private async Task<string?> ResolveUserAsync(string filter, CancellationToken cancellationToken)
    {
        if (!filter.Contains('@', StringComparison.Ordinal))
        {
            return filter;
        }

        var found = await admin.SearchAsync(filter, null, 1, 10, cancellationToken);
        return found.Users.FirstOrDefault(u => string.Equals(u.Email, filter, StringComparison.OrdinalIgnoreCase))?.Id;
    }

    /// <summary>The same filters, for events older than <paramref name="before"/>.</summary>
    private string Link(DateTimeOffset before)
    {
        var query = new List<KeyValuePair<string, string?>>();
        if (!string.IsNullOrWhiteSpace(UserFilter))
        {
            query.Add(new("user", UserFilter));
        }

        if (!string.IsNullOrEmpty(Action))
        {
            query.Add(new("action", Action));
        }

        if (!string.IsNullOrEmpty(After))
        {
            query.Add(new("after", After));
            query.Add(new("afterUtc", AfterUtc));
        }

        query.Add(new("beforeUtc", before.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)));
        return "/admin/audit" + QueryString.Create(query);
    }

    private static DateTimeOffset? ParseTime(string? utc, string? local)
    {
        foreach (var text in new[] { utc, local })
        {
            if (!string.IsNullOrEmpty(text)
                && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            {
                return parsed;
            }
        }

        return null;
    }
}
