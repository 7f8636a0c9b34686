using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Tessera.Core.Administration;
using Tessera.Core.Audit;
using Tessera.Core.Storage;
using Tessera.Core.Users;

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

    /// <summary>The users a partial filter matched, when it matched more than one: the admin picks one.</summary>
    public IReadOnlyList<User> Candidates { get; private set; } = [];

    public static IReadOnlyList<string> Actions { get; } = AuditActions.All.Order(StringComparer.Ordinal).ToList();

    public async Task<IActionResult> OnGetAsync()
    {
        var cancellationToken = HttpContext.RequestAborted;
        string? userId = null;
        if (!string.IsNullOrWhiteSpace(UserFilter))
        {
            (userId, Candidates) = await ResolveUserAsync(UserFilter.Trim(), cancellationToken);
            if (userId is null)
            {
                FilterError = Candidates.Count == 0
                    ? $"No user’s email, name or id matches “{UserFilter.Trim()}”."
                    : $"Several users match “{UserFilter.Trim()}”: choose one.";
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

    /// <summary>
    /// A user id, an exact email, or part of an email or name (as the users list searches): one user is the filter;
    /// several are offered to choose from.
    /// </summary>
    private async Task<(string? UserId, IReadOnlyList<User> Candidates)> ResolveUserAsync(string filter, CancellationToken cancellationToken)
    {
        // Ids are what the user pages link here with.
        if (filter.StartsWith("usr_", StringComparison.Ordinal))
        {
            return (filter, []);
        }

        var found = await admin.SearchAsync(filter, null, 1, 20, cancellationToken, UserSort.Email);
        var exact = found.Users.FirstOrDefault(u => string.Equals(u.Email, filter, StringComparison.OrdinalIgnoreCase));
        return exact is not null ? (exact.Id, [])
            : found.Users.Count == 1 ? (found.Users[0].Id, [])
            : (null, found.Users);
    }

    /// <summary>The same filters, for one of the <see cref="Candidates"/>.</summary>
    public string LinkFor(User candidate)
    {
        var query = new Dictionary<string, string?> { ["user"] = candidate.Email, ["action"] = Action, ["after"] = After, ["afterUtc"] = AfterUtc, ["before"] = Before, ["beforeUtc"] = BeforeUtc };
        return "/admin/audit" + QueryString.Create(query.Where(pair => !string.IsNullOrEmpty(pair.Value)));
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
