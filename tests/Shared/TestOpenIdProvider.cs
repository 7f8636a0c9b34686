using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Tessera.Testing;

/// <summary>A person at the test provider: who signs in at its authorization endpoint next.</summary>
public sealed record ProviderPerson(string Subject, string Email, bool EmailVerified, string Name)
{
    public static ProviderPerson New(bool emailVerified = true, string? email = null) =>
        new($"sub-{Guid.NewGuid():N}", email ?? $"person-{Guid.NewGuid():N}@provider.test", emailVerified, "Ada Provider");
}

/// <summary>How the next ID token is spoiled, for the tests of what the callback refuses.</summary>
public enum IdTokenFault
{
    None,
    WrongNonce,
    OtherAudience,
    Expired,
}

/// <summary>
/// A real OpenID Connect provider on a loopback port: OpenIddict's server on EF Core over an in-memory SQLite database,
/// with discovery, JWKS, authorization (which signs in <see cref="Person"/> at once: the test plays the person),
/// token and revocation endpoints, PKCE required, and a record of every token revoked at it.
/// </summary>
public sealed class TestOpenIdProvider : IAsyncDisposable
{
    public const string ClientId = "tessera";
    public const string ClientSecret = "tessera-test-secret";
    public const string OtherClientId = "another-app";

    // A named in-memory database shared by the connections of each request (one SqliteConnection is not for concurrent
    // use); this one stays open so that the database lives as long as the provider.
    private readonly string _connectionString = $"Data Source=test-provider-{Guid.NewGuid():N};Mode=Memory;Cache=Shared";
    private SqliteConnection _database = null!;
    private WebApplication? _app;

    /// <summary>Who is signed in at the provider; the authorization endpoint answers for them without asking.</summary>
    public ProviderPerson Person { get; set; } = ProviderPerson.New();

    /// <summary>Spoils the next ID token the token endpoint issues (then resets to <see cref="IdTokenFault.None"/>).</summary>
    public IdTokenFault NextIdTokenFault { get; set; }

    /// <summary>Every token presented at the revocation endpoint (RFC 7009), in order.</summary>
    public ConcurrentQueue<string> RevokedTokens { get; } = new();

    /// <summary>Every refresh token the token endpoint issued.</summary>
    public ConcurrentQueue<string> IssuedRefreshTokens { get; } = new();

    public Uri Issuer { get; private set; } = null!;

    /// <summary>Tessera's settings that configure this provider as <c>Tessera:ExternalLogin:Providers:{name}</c>.</summary>
    public Dictionary<string, string?> TesseraSettings(string name, string displayName) => new()
    {
        [$"Tessera:ExternalLogin:Providers:{name}:Authority"] = Issuer.ToString(),
        [$"Tessera:ExternalLogin:Providers:{name}:ClientId"] = ClientId,
        [$"Tessera:ExternalLogin:Providers:{name}:ClientSecret"] = ClientSecret,
        [$"Tessera:ExternalLogin:Providers:{name}:DisplayName"] = displayName,
    };

    public static async Task<TestOpenIdProvider> StartAsync(params string[] redirectUris)
    {
        var provider = new TestOpenIdProvider();
        await provider.StartInternalAsync(redirectUris);
        return provider;
    }

    private async Task StartInternalAsync(string[] redirectUris)
    {
        _database = new SqliteConnection(_connectionString);
        await _database.OpenAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddDbContext<DbContext>(options => options.UseSqlite(_connectionString).UseOpenIddict());
        builder.Services.AddOpenIddict()
            .AddCore(options => options.UseEntityFrameworkCore().UseDbContext<DbContext>())
            .AddServer(options =>
            {
                options.SetAuthorizationEndpointUris("connect/authorize")
                    .SetTokenEndpointUris("connect/token")
                    .SetRevocationEndpointUris("connect/revoke");
                options.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow();
                options.RequireProofKeyForCodeExchange();
                options.RegisterScopes(Scopes.OpenId, Scopes.Email, Scopes.Profile, Scopes.OfflineAccess);
                options.AddEphemeralEncryptionKey().AddEphemeralSigningKey();
                options.DisableAccessTokenEncryption();
                options.UseAspNetCore().EnableAuthorizationEndpointPassthrough().DisableTransportSecurityRequirement();
                options.AddEventHandler<OpenIddictServerEvents.ProcessSignInContext>(handler => handler
                    .UseInlineHandler(context =>
                    {
                        SpoilIdToken(context);
                        return default;
                    })
                    .SetOrder(OpenIddictServerHandlers.PrepareIdentityTokenPrincipal.Descriptor.Order + 1));
                // The record of revocations: every token the revocation endpoint was asked to revoke and handled.
                options.AddEventHandler<OpenIddictServerEvents.HandleRevocationRequestContext>(handler => handler
                    .UseInlineHandler(context =>
                    {
                        RevokedTokens.Enqueue(context.Request.Token ?? "");
                        return default;
                    }));
                options.AddEventHandler<OpenIddictServerEvents.ApplyTokenResponseContext>(handler => handler
                    .UseInlineHandler(context =>
                    {
                        if (context.Response.RefreshToken is { } refreshToken)
                        {
                            IssuedRefreshTokens.Enqueue(refreshToken);
                        }

                        return default;
                    }));
            });

        _app = builder.Build();
        _app.MapGet("/connect/authorize", AuthorizeAsync);
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<DbContext>().Database.EnsureCreatedAsync();
            var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            await applications.CreateAsync(Client(ClientId, ClientSecret, redirectUris));
            await applications.CreateAsync(Client(OtherClientId, "another-secret", redirectUris));
        }

        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Issuer = new Uri(address.TrimEnd('/') + "/");
    }

    /// <summary>
    /// Registers one more redirect URI for both clients: for a Tessera whose port is known only once it started, after
    /// the provider whose address it was configured with.
    /// </summary>
    public async Task AllowRedirectUriAsync(string redirectUri)
    {
        await using var scope = _app!.Services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        foreach (var clientId in new[] { ClientId, OtherClientId })
        {
            var application = await applications.FindByClientIdAsync(clientId) ?? throw new InvalidOperationException($"No client {clientId}.");
            var descriptor = new OpenIddictApplicationDescriptor();
            await applications.PopulateAsync(descriptor, application);
            descriptor.RedirectUris.Add(new Uri(redirectUri));
            await applications.UpdateAsync(application, descriptor);
        }
    }

    private static OpenIddictApplicationDescriptor Client(string id, string secret, string[] redirectUris)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = id,
            ClientSecret = secret,
            ClientType = ClientTypes.Confidential,
            Permissions =
            {
                Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.Endpoints.Revocation,
                Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken, Permissions.ResponseTypes.Code,
                Permissions.Prefixes.Scope + Scopes.Email, Permissions.Prefixes.Scope + Scopes.Profile,
                Permissions.Prefixes.Scope + Scopes.OfflineAccess,
            },
            Requirements = { Requirements.Features.ProofKeyForCodeExchange },
        };
        foreach (var uri in redirectUris)
        {
            descriptor.RedirectUris.Add(new Uri(uri));
        }

        return descriptor;
    }

    private IResult AuthorizeAsync(HttpContext context)
    {
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        var person = Person;
        var identity = new ClaimsIdentity("test-provider", Claims.Name, Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, person.Subject));
        identity.AddClaim(new Claim(Claims.Email, person.Email));
        identity.AddClaim(new Claim(Claims.EmailVerified, person.EmailVerified ? "true" : "false", ClaimValueTypes.Boolean));
        identity.AddClaim(new Claim(Claims.Name, person.Name));
        identity.SetScopes(request.GetScopes());
        identity.SetDestinations(_ => [Destinations.IdentityToken, Destinations.AccessToken]);
        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private void SpoilIdToken(OpenIddictServerEvents.ProcessSignInContext context)
    {
        if (context.IdentityTokenPrincipal is not { } principal || NextIdTokenFault == IdTokenFault.None)
        {
            return;
        }

        switch (NextIdTokenFault)
        {
            case IdTokenFault.WrongNonce:
                principal.SetClaim(Claims.Nonce, "not-the-nonce-tessera-sent");
                break;
            case IdTokenFault.OtherAudience:
                principal.SetAudiences(OtherClientId);
                principal.SetPresenters(OtherClientId);
                break;
            case IdTokenFault.Expired:
                // Well beyond the handler's five minutes of clock skew.
                principal.SetCreationDate(DateTimeOffset.UtcNow.AddHours(-2));
                principal.SetExpirationDate(DateTimeOffset.UtcNow.AddHours(-1));
                break;
        }

        NextIdTokenFault = IdTokenFault.None;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}
