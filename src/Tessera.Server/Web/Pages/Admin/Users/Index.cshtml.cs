using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Administration;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Server.Web.Pages.Admin.Users;

/// <summary>/admin/users: search, filter and page through users; apply one action to several at once.</summary>
internal sealed class IndexModel(UserAdministration admin, TimeProvider clock) : AdminPageModel
{
    public const int PageSize = 20;

    [BindProperty(SupportsGet = true, Name = "q")]
    public string? Search { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    /// <summary><c>newest</c> (the default: who just joined is what an admin looks for first), <c>oldest</c>, <c>name</c>, <c>email</c>.</summary>
    [BindProperty(SupportsGet = true)]
    public string? Sort { get; set; }

    /// <summary>From <c>?page=</c>, read by hand: Razor Pages keeps the route value <c>page</c> for the page's own name.</summary>
    public int PageNumber { get; private set; } = 1;

    public IReadOnlyList<User> Users { get; private set; } = [];

    public int Total { get; private set; }

    public int PageCount => Math.Max(1, (Total + PageSize - 1) / PageSize);

    public DateTimeOffset Now { get; private set; }

    public static IReadOnlyList<(string Value, string Label, UserSort Sort)> SortChoices { get; } =
        [("newest", "Newest first", UserSort.NewestFirst), ("oldest", "Oldest first", UserSort.OldestFirst),
            ("name", "Name A–Z", UserSort.Name), ("email", "Email A–Z", UserSort.Email)];

    /// <summary>Without script: the confirmation page of a bulk action, before anything is done.</summary>
    public ConfirmDialog? BulkStep { get; private set; }

    public static IReadOnlyList<(string Value, string Label)> StatusChoices { get; } =
        [("", "All statuses"), ("active", "Active"), ("deactivated", "Deactivated"), ("banned", "Banned"), ("deleted", "Deleted")];

    public async Task<IActionResult> OnGetAsync()
    {
        Now = clock.GetUtcNow();
        UserStatusFilter? filter = Status switch
        {
            "active" => UserStatusFilter.Active,
            "deactivated" => UserStatusFilter.Deactivated,
            "banned" => UserStatusFilter.Banned,
            "deleted" => UserStatusFilter.Deleted,
            _ => null,
        };
        if (filter is null)
        {
            Status = null;
        }

        var sort = SortChoices.FirstOrDefault(c => c.Value == Sort);
        if (sort.Value is null || sort == SortChoices[0])
        {
            // The default order is left out of the links.
            sort = SortChoices[0];
            Sort = null;
        }

        PageNumber = int.TryParse(Request.Query["page"], out var page) && page > 1 ? page : 1;
        var text = string.IsNullOrWhiteSpace(Search) ? null : Search.Trim();
        var result = await admin.SearchAsync(text, filter, PageNumber, PageSize, HttpContext.RequestAborted, sort.Sort);
        if (result.Users.Count == 0 && result.Total > 0 && PageNumber > 1)
        {
            // Past the last page (after a filter change, say): show the last one.
            PageNumber = (result.Total + PageSize - 1) / PageSize;
            result = await admin.SearchAsync(text, filter, PageNumber, PageSize, HttpContext.RequestAborted, sort.Sort);
        }

        Users = result.Users;
        Total = result.Total;
        return Page();
    }

    /// <summary>
    /// One action for the chosen users, through <see cref="UserAdministration.BulkAsync"/> as <c>POST /v1/admin/users/bulk</c>.
    /// tessera.js asks in its dialog, then sends the users a few at a time and shows the progress; without it the form
    /// sends them all at once, and is first answered with a confirmation page whose Confirm sends them again, confirmed.
    /// </summary>
    public async Task<IActionResult> OnPostBulkAsync(string? bulkAction, string[]? ids, string? reason, bool confirmed)
    {
        var wantsJson = Request.Headers.Accept.ToString().Contains("application/json", StringComparison.OrdinalIgnoreCase);
        var choice = AdminDisplay.BulkChoices.FirstOrDefault(c => c.Value == bulkAction);
        string? refusal = null;
        IReadOnlyList<BulkResult> results = [];
        if (choice is null)
        {
            refusal = "Choose what to do with the selected users.";
        }
        else if (ids is not { Length: > 0 })
        {
            refusal = "Select at least one user.";
        }
        else if (!wantsJson && !confirmed)
        {
            var users = AdminDisplay.Plural(ids.Length, "user", "users");
            BulkStep = new ConfirmDialog("confirm-bulk", $"{choice.Verb} {users}?", choice.Effect, $"{choice.Verb} {users}", "Bulk")
            {
                AsStep = true,
                Fields = [new("bulkAction", choice.Value), new("reason", reason ?? string.Empty), new("confirmed", "true"), .. ids.Select(id => new KeyValuePair<string, string>("ids", id))],
            };
            return Page();
        }
        else
        {
            try
            {
                results = await admin.BulkAsync(Current.Actor, choice.Action, ids, reason, until: null, ClientIp, HttpContext.RequestAborted);
            }
            catch (TesseraException refused)
            {
                refusal = Describe(refused);
            }
        }

        if (wantsJson)
        {
            return refusal is not null
                ? new JsonResult(new { error = refusal }) { StatusCode = StatusCodes.Status400BadRequest }
                : new JsonResult(new
                {
                    results = results.Select(r => new
                    {
                        userId = r.UserId,
                        ok = r.Ok,
                        revokedSessions = r.RevokedSessions,
                        code = r.Code,
                        message = r.Ok ? null : AdminDisplay.DescribeRefusal(r.Code),
                    }),
                });
        }

        if (refusal is not null)
        {
            return Back(error: refusal);
        }

        var done = results.Count(r => r.Ok);
        var failed = results.Where(r => !r.Ok).ToList();
        var notice = $"{AdminDisplay.Plural(done, "user", "users")} {choice!.Done}.";
        return failed.Count == 0
            ? Back(notice)
            : Back(notice, $"{AdminDisplay.Plural(failed.Count, "user was", "users were")} not changed: " +
                string.Join(" ", failed.Select(f => AdminDisplay.DescribeRefusal(f.Code)).Distinct(StringComparer.Ordinal)));
    }

    public string PageLink(int page)
    {
        var query = new List<KeyValuePair<string, string?>>();
        if (!string.IsNullOrWhiteSpace(Search))
        {
            query.Add(new("q", Search));
        }

        if (!string.IsNullOrEmpty(Status))
        {
            query.Add(new("status", Status));
        }

        if (!string.IsNullOrEmpty(Sort))
        {
            query.Add(new("sort", Sort));
        }

        if (page > 1)
        {
            query.Add(new("page", page.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return "/admin/users" + QueryString.Create(query);
    }

    public bool IsSelf(User user) => user.Id == CurrentUser.Id;
}
