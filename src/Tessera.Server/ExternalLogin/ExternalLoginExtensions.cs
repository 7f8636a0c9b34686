using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Tessera.Core.ExternalLogin;

namespace Tessera.Server.ExternalLogin;

internal static class ExternalLoginExtensions
{
    /// <summary>
    /// One ASP.NET Core OpenID Connect scheme per configured provider. The handler does the protocol (authorization code
    /// with PKCE, <c>state</c> protected with Data Protection and bound to a correlation cookie, <c>nonce</c>, the ID
    /// token's signature, issuer, audience and lifetime against the provider's discovery document and JWKS); it only
    /// produces an external identity. <see cref="ExternalCallback"/> then decides, once, before any session exists.
    /// </summary>
    public static IHostApplicationBuilder AddTesseraExternalLogin(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ExternalLoginOptions>().BindConfiguration(ExternalLoginOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ExternalLoginOptions>, ExternalLoginOptionsValidator>());
        services.TryAddSingleton<ExternalProviders>();
        services.TryAddSingleton<ExternalCallback>();
        services.Replace(ServiceDescriptor.Singleton<IProviderTokenRevoker, ProviderTokens>());

        // Schemes are named at build time, so the names are read from configuration now; everything else of each
        // provider is read from the validated options when the handler first needs it.
        var configured = builder.Configuration.GetSection(ExternalLoginOptions.SectionName).Get<ExternalLoginOptions>() ?? new ExternalLoginOptions();
        var authentication = services.AddAuthentication();
        foreach (var provider in ExternalProvider.All(configured))
        {
            authentication.AddOpenIdConnect(provider.Scheme, provider.DisplayName, _ => { });
            services.AddOptions<OpenIdConnectOptions>(provider.Scheme)
                .Configure<ExternalProviders, ExternalCallback>((options, providers, callback) => Configure(options, providers.Find(provider.Name)!, callback));
        }

        return builder;
    }

    private static void Configure(OpenIdConnectOptions options, ExternalProvider provider, ExternalCallback callback)
    {
        options.Authority = provider.Authority;
        options.ClientId = provider.ClientId;
        options.ClientSecret = provider.ClientSecret;
        options.ResponseType = OpenIdConnectResponseType.Code;

        // The answer comes back as a top-level GET: SameSite=Lax cookies go with it, and no cross-site POST is needed.
        options.ResponseMode = OpenIdConnectResponseMode.Query;
        options.UsePkce = true;
        options.CallbackPath = provider.CallbackPath;
        options.Scope.Clear();
        foreach (var scope in provider.Scopes)
        {
            options.Scope.Add(scope);
        }

        // The provider's claims as it names them (sub, email, email_verified), not mapped to WS-Federation URIs.
        options.MapInboundClaims = false;
        options.GetClaimsFromUserInfoEndpoint = false;

        // Tokens are kept in the properties of this one request only, and only the refresh token is read (offline access).
        options.SaveTokens = provider.OfflineAccess;
        options.RequireHttpsMetadata = !Uri.TryCreate(provider.Authority, UriKind.Absolute, out var authority) || !authority.IsLoopback;
        options.DisableTelemetry = true;

        // Lax, not None: the answer is a top-level GET (above), and None would need Secure, which plain-http development lacks.
        options.CorrelationCookie.SameSite = SameSiteMode.Lax;
        options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.NonceCookie.SameSite = SameSiteMode.Lax;
        options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.TokenValidationParameters.NameClaimType = "name";
        options.Events = new OpenIdConnectEvents
        {
            OnRedirectToIdentityProvider = context =>
            {
                if (provider.IsGoogle && provider.OfflineAccess)
                {
                    // Google's own parameters for a refresh token; prompt=consent makes it give one on every consent.
                    context.ProtocolMessage.SetParameter("access_type", "offline");
                    context.ProtocolMessage.Prompt = "consent";
                }

                return Task.CompletedTask;
            },
            OnTicketReceived = context => callback.TicketReceivedAsync(context, provider),
            OnRemoteFailure = context => callback.RemoteFailureAsync(context, provider),
            OnAccessDenied = context => callback.AccessDeniedAsync(context, provider),
        };
    }
}

/// <summary>The configured providers, as the API lists them and the callback names them.</summary>
internal sealed class ExternalProviders(IOptions<ExternalLoginOptions> options)
{
    public IReadOnlyList<ExternalProvider> All { get; } = ExternalProvider.All(options.Value);

    public bool AllowNewAccounts { get; } = options.Value.AllowNewAccounts;

    public ExternalProvider? Find(string name) => All.FirstOrDefault(provider => provider.Name == name);
}
