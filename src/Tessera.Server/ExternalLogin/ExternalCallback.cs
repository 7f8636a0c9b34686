using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc.ViewFeatures;
using Tessera.Core;
using Tessera.Core.ExternalLogin;
using Tessera.Server.Authentication;
using Tessera.Server.Http;
using Tessera.Server.Web;

namespace Tessera.Server.ExternalLogin;

/// <summary>
/// The end of a provider's round trip, where the handler hands over the identity it checked. Everything that decides
/// happens in <see cref="ExternalSignIn"/>, in the write that would create the session; this only turns its answer into
/// a cookie and a redirect, or into a problem with a code (and never a session, nor a cookie).
/// </summary>
internal sealed partial class ExternalCallback(
    ExternalSignIn signIn,
    ExternalProviders providers,
    IDataProtectionProvider dataProtection,
    ITempDataDictionaryFactory tempData,
    ILogger<ExternalCallback> logger)
{
    /// <summary>The item of the authentication properties that holds where to go after signing in (a local path).</summary>
    public const string ReturnUrlItem = "tessera.returnUrl";

    /// <summary>The purpose of the protector of providers' refresh tokens at rest.</summary>
    public const string RefreshTokenPurpose = "Tessera.ExternalLogin.RefreshToken.v1";

    private readonly IDataProtector _refreshTokens = dataProtection.CreateProtector(RefreshTokenPurpose);

    public async Task TicketReceivedAsync(TicketReceivedContext context, ExternalProvider provider)
    {
        // Whatever happens below, the handler must not go on to sign in with a scheme: Tessera's session is the only one.
        context.HandleResponse();
        var httpContext = context.HttpContext;
        var principal = context.Principal ?? new ClaimsPrincipal();
        var subject = principal.FindFirst("sub")?.Value;
        if (string.IsNullOrEmpty(subject))
        {
            await RefuseAsync(httpContext, context.Properties, provider, new TesseraException(ErrorCodes.ExternalLoginFailed, $"{provider.DisplayName} did not say who signed in (no subject)."));
            return;
        }

        var refreshToken = context.Properties?.GetTokenValue("refresh_token");
        var request = new ExternalSignInRequest(
            provider.Name,
            provider.DisplayName,
            subject,
            principal.FindFirst("email")?.Value,
            IsTrue(principal.FindFirst("email_verified")?.Value),
            principal.FindFirst("name")?.Value,
            string.IsNullOrEmpty(refreshToken) ? null : _refreshTokens.Protect(refreshToken),
            providers.AllowNewAccounts,
            Device: null,
            httpContext.UserAgent(),
            httpContext.ClientIp());
        try
        {
            if (LoopbackRedirect.ReadFrom(context.Properties) is { } loopback)
            {
                // A desktop or CLI client: no cookie in this browser; a one-time code for the client's own listener.
                var code = await signIn.IssueLoopbackCodeAsync(request, loopback.CodeChallenge, httpContext.RequestAborted);
                httpContext.Response.Redirect(loopback.WithCode(code));
                return;
            }

            var result = await signIn.SignInAsync(request, httpContext.RequestAborted);
            SessionCredentials.SetCookie(httpContext.Response, result.Token, result.Session.AbsoluteExpiresAt, httpContext.Request.IsHttps);
            httpContext.Response.Redirect(WebSessions.SafeReturnUrl(ReturnUrlOf(context.Properties)));
        }
        catch (TesseraException refusal)
        {
            await RefuseAsync(httpContext, context.Properties, provider, refusal);
        }
    }

    /// <summary>State, correlation, nonce, code redemption or ID token checks failed, or the provider answered with an error.</summary>
    public async Task RemoteFailureAsync(RemoteFailureContext context, ExternalProvider provider)
    {
        context.HandleResponse();
        ExternalLoginFailed(logger, context.Failure, provider.Name);
        await RefuseAsync(context.HttpContext, context.Properties, provider, new TesseraException(ErrorCodes.ExternalLoginFailed,
            $"Signing in with {provider.DisplayName} did not complete: its answer could not be checked. Start again from the sign-in page."));
    }

    /// <summary>The person declined at the provider.</summary>
    public async Task AccessDeniedAsync(AccessDeniedContext context, ExternalProvider provider)
    {
        context.HandleResponse();
        await RefuseAsync(context.HttpContext, context.Properties, provider, new TesseraException(ErrorCodes.ExternalLoginFailed,
            $"Signing in with {provider.DisplayName} was cancelled there."));
    }

    /// <summary>
    /// A native client's browser goes back to the client's loopback listener with the refusal's code and sentence.
    /// A person's browser (it asks for HTML, as every navigation back from a provider does) goes back to <c>/login</c>,
    /// which shows the sentence once (the pages' one-shot notice, in its protected cookie: never text in the URL that a
    /// link could forge); a program gets the problem with its code and status.
    /// </summary>
    private async Task RefuseAsync(HttpContext httpContext, AuthenticationProperties? properties, ExternalProvider provider, TesseraException refusal)
    {
        ExternalLoginRefused(logger, provider.Name, refusal.Code);
        if (LoopbackRedirect.ReadFrom(properties) is { } loopback)
        {
            // The client is waiting at its listener: it gets the code and the sentence, and shows them (RFC 6749 4.1.2.1).
            httpContext.Response.Redirect(loopback.WithError(refusal));
            return;
        }

        if (httpContext.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            var notices = tempData.GetTempData(httpContext);
            notices[nameof(TesseraPageModel.ErrorNotice)] = refusal.Message;
            notices.Save();
            httpContext.Response.Redirect(WebSessions.LoginUrl(ReturnUrlOf(properties)));
            return;
        }

        await Problems.WriteAsync(httpContext, Problems.From(refusal));
    }

    private static string? ReturnUrlOf(AuthenticationProperties? properties) =>
        properties?.Items.TryGetValue(ReturnUrlItem, out var url) == true ? url : null;

    /// <summary>Providers send <c>email_verified</c> as a JSON boolean (a claim "true") or, some of them, as the string "true".</summary>
    private static bool IsTrue(string? value) => bool.TryParse(value, out var verified) && verified;

    [LoggerMessage(Level = LogLevel.Information, Message = "A sign-in through {Provider} was refused: {Code}.")]
    private static partial void ExternalLoginRefused(ILogger logger, string provider, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "A sign-in through {Provider} failed at its callback.")]
    private static partial void ExternalLoginFailed(ILogger logger, Exception? failure, string provider);
}
