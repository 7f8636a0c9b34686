using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Tessera.Core;
using Tessera.Core.Clients;
using Tessera.Core.Options;
using Tessera.Server.Http;

namespace Tessera.Server.Web.Pages.Admin;

/// <summary>
/// /admin/clients: the service clients that introspect and revoke sessions at /oauth2, and the admin's decisions about
/// them, each the same <see cref="ServiceClients"/> call as <c>/v1/admin/clients</c> (audited there). A new secret (after
/// creating or rotating) is written into the answer to that POST and nowhere else: not in a redirect's URL, a cookie,
/// TempData or the log. Reloading the page does not show it again.
/// </summary>
internal sealed class ClientsModel(ServiceClients clients, TimeProvider clock, IOptions<TesseraOptions> options) : AdminPageModel
{
    /// <summary>What each scope lets a client do, in the order of <see cref="ClientScopes.All"/>.</summary>
    public static IReadOnlyList<(string Scope, string Label, string Effect)> ScopeChoices { get; } =
    [
        (ClientScopes.Introspect, "Introspect", "Check whether a session token holds, and whose it is (POST /oauth2/introspect)."),
        (ClientScopes.Revocations, "Revocations", "Hear about sessions as they end (the revocation stream)."),
        (ClientScopes.Revoke, "Revoke", "End the session behind a token (POST /oauth2/revoke)."),
        (ClientScopes.Login, "Sign in visitors",
            "Sign people in from the app's own form, passing on each visitor's address and browser (POST /v1/auth/login). Tessera trusts what it passes on."),
    ];

    public IReadOnlyList<ServiceClient> Clients { get; private set; } = [];

    public DateTimeOffset Now { get; private set; }

    /// <summary>How long a previous secret keeps working after a rotation (<c>Tessera:Clients:RotationOverlap</c>).</summary>
    public TimeSpan RotationOverlap { get; } = options.Value.Clients.RotationOverlap;

    [BindProperty(Name = "name")]
    public string? ClientName { get; set; }

    [BindProperty(Name = "scopes")]
    public List<string> ChosenScopes { get; set; } = [];

    /// <summary>Why the new client was refused, shown above the form.</summary>
    public string? CreateError { get; private set; }

    /// <summary>The field <see cref="CreateError"/> is about (<c>name</c> or <c>scopes</c>), for aria-invalid.</summary>
    public string? CreateErrorField { get; private set; }

    /// <summary>The client just created or rotated, with its secret: shown in this answer only.</summary>
    public IssuedClientSecret? Issued { get; private set; }

    /// <summary>True when <see cref="Issued"/> comes from a rotation, false from a creation.</summary>
    public bool IssuedByRotation { get; private set; }

    public string? Invalid(string field) => CreateErrorField == field ? "true" : null;

    public bool IsChosen(string scope) => ChosenScopes.Contains(scope, StringComparer.Ordinal);

    public async Task<IActionResult> OnGetAsync()
    {
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostCreateAsync()
    {
        try
        {
            // No scope ticked posts no scopes at all: the core's own "at least one" refusal.
            Issued = await clients.CreateAsync(Current.Actor, ClientName, ChosenScopes.Cast<string?>().ToList(), ClientIp, HttpContext.RequestAborted);
        }
        catch (TesseraException refused) when (refused.Code == ErrorCodes.ValidationFailed)
        {
            CreateErrorField = FieldOf(refused);
            CreateError = CreateErrorField switch
            {
                "scopes" => "Choose at least one scope: what the client may do.",
                "name" when string.IsNullOrWhiteSpace(ClientName) => "A name is required: say which app this client is.",
                _ => Describe(refused),
            };
            Response.StatusCode = ErrorCatalog.StatusOf(refused.Code);
            await LoadAsync();
            return Page();
        }

        ClientName = null;
        ChosenScopes = [];
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostRotateAsync(string? clientId)
    {
        try
        {
            Issued = await clients.RotateAsync(Current.Actor, clientId ?? string.Empty, ClientIp, HttpContext.RequestAborted);
            IssuedByRotation = true;
        }
        catch (TesseraException refused)
        {
            return Back(error: Describe(refused));
        }

        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostDisableAsync(string? clientId)
    {
        try
        {
            var client = await clients.DisableAsync(Current.Actor, clientId ?? string.Empty, ClientIp, HttpContext.RequestAborted);
            return Back($"{NameDisplay.InText(client)} was disabled: every use of its secrets is refused from now on.");
        }
        catch (TesseraException refused)
        {
            return Back(error: Describe(refused));
        }
    }

    /// <summary>The client's previous secret while it still works (after a rotation, within the overlap), or null.</summary>
    public DateTimeOffset? PreviousSecretUntil(ServiceClient client) =>
        client is { Disabled: false, PreviousSecretHash: not null, PreviousSecretExpiresAt: { } end } && end > Now ? end : null;

    /// <summary>The rotation overlap in words: "1 hour", "30 minutes", "1 day and 12 hours".</summary>
    public string OverlapInWords()
    {
        var overlap = RotationOverlap;
        var parts = new List<string>();
        if (overlap.Days > 0)
        {
            parts.Add(AdminDisplay.Plural(overlap.Days, "day", "days"));
        }

        if (overlap.Hours > 0)
        {
            parts.Add(AdminDisplay.Plural(overlap.Hours, "hour", "hours"));
        }

        if (overlap.Minutes > 0)
        {
            parts.Add(AdminDisplay.Plural(overlap.Minutes, "minute", "minutes"));
        }

        if (parts.Count == 0 && overlap.Seconds > 0)
        {
            parts.Add(AdminDisplay.Plural(overlap.Seconds, "second", "seconds"));
        }

        return parts.Count switch
        {
            0 => "no time",
            1 => parts[0],
            _ => string.Join(", ", parts[..^1]) + " and " + parts[^1],
        };
    }

    private async Task LoadAsync()
    {
        Now = clock.GetUtcNow();
        var all = await clients.ListAsync(HttpContext.RequestAborted);
        Clients = [.. all.OrderByDescending(client => client.CreatedAt).ThenByDescending(client => client.Id, StringComparer.Ordinal)];
    }
}
