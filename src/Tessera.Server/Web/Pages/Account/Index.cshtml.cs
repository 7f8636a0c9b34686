using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Accounts;
using Tessera.Core.ExternalLogin;
using Tessera.Core.Sessions;

namespace Tessera.Server.Web.Pages.Account;

/// <summary>/account: who I am, my display name, and changing my password (which signs my other devices out).</summary>
internal sealed class IndexModel(
    PasswordChange passwordChange,
    Profile profile,
    SessionService sessions,
    ExternalIdentities externalIdentities,
    IProviderTokenRevoker providerTokens,
    ExternalLogin.ExternalProviders providers) : SignedInPageModel
{
    [BindProperty]
    public string? CurrentPassword { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    [BindProperty]
    public string? ConfirmPassword { get; set; }

    [BindProperty]
    public string? DisplayName { get; set; }

    public int ActiveSessions { get; private set; }

    public string? NameError { get; private set; }

    public string? PasswordError { get; private set; }

    /// <summary>The sign-in methods at OpenID Connect providers linked to this account.</summary>
    public IReadOnlyList<ExternalIdentity> LinkedMethods { get; private set; } = [];

    public string? UnlinkError { get; private set; }

    /// <summary>The provider's name as people know it; its bare name once it is no longer configured.</summary>
    public string ProviderName(string provider) => providers.Find(provider)?.DisplayName ?? provider;

    /// <summary>The same as <c>DELETE /v1/auth/external/identities/{provider}</c>.</summary>
    public async Task<IActionResult> OnPostUnlinkAsync(string? provider)
    {
        try
        {
            var removed = await externalIdentities.UnlinkAsync(CurrentUser.Id, provider ?? "", ClientIp, HttpContext.RequestAborted);
            await providerTokens.RevokeAsync(removed, "unlinked", HttpContext.RequestAborted);
        }
        catch (TesseraException refused)
        {
            UnlinkError = Describe(refused);
            Response.StatusCode = StatusCodes.Status400BadRequest;
            await LoadAsync();
            return Page();
        }

        return Back($"{ProviderName(provider ?? "")} was unlinked from your account.");
    }

    public async Task<IActionResult> OnGetAsync()
    {
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostPasswordAsync()
    {
        if (!string.IsNullOrEmpty(NewPassword) && NewPassword != ConfirmPassword)
        {
            return await RefuseAsync("The new password and its confirmation do not match.");
        }

        try
        {
            await passwordChange.ChangePasswordAsync(Current.Entry, CurrentPassword, NewPassword, ClientIp, HttpContext.RequestAborted);
        }
        catch (TesseraException refused)
        {
            return await RefuseAsync(Describe(refused));
        }

        return Back("Your password was changed. Every other device signed in to your account was signed out.");
    }

    /// <summary>The same change as <c>PATCH /v1/auth/me</c>.</summary>
    public async Task<IActionResult> OnPostProfileAsync()
    {
        try
        {
            await profile.ChangeDisplayNameAsync(Current.Entry, DisplayName, HttpContext.RequestAborted);
        }
        catch (TesseraException refused)
        {
            NameError = Describe(refused);
            Response.StatusCode = StatusCodes.Status400BadRequest;
            await LoadAsync();
            return Page();
        }

        return Back("Your display name was changed.");
    }

    private async Task<IActionResult> RefuseAsync(string message)
    {
        PasswordError = message;
        CurrentPassword = NewPassword = ConfirmPassword = null;
        Response.StatusCode = StatusCodes.Status400BadRequest;
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        ActiveSessions = (await sessions.ListActiveAsync(CurrentUser.Id, HttpContext.RequestAborted)).Count;
        LinkedMethods = await externalIdentities.ListAsync(CurrentUser.Id, HttpContext.RequestAborted);
    }
}
