using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.Net.Http.Headers;
using Tessera.Core;
using Tessera.Core.Clients;
using Tessera.Server.Http;

namespace Tessera.Server.OAuth;

/// <summary>
/// <c>/oauth2/introspect</c> (RFC 7662) and <c>/oauth2/revoke</c> (RFC 7009) for service clients: form bodies, client
/// authentication by HTTP Basic or form fields, and RFC 6749 error bodies (<see cref="OAuthErrors"/>), never problems.
/// </summary>
internal static class OAuthApi
{
    private const string FormMediaType = "application/x-www-form-urlencoded";

    public static IEndpointRouteBuilder MapOAuthApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(OAuthErrors.PathPrefix).WithTags("OAuth");
        group.MapPost("/introspect", IntrospectAsync)
            .Accepts<TokenForm>(FormMediaType)
            .Produces<IntrospectionResponse>()
            .Produces<OAuthErrorBody>(StatusCodes.Status400BadRequest)
            .Produces<OAuthErrorBody>(StatusCodes.Status401Unauthorized);
        group.MapPost("/revoke", RevokeAsync)
            .Accepts<TokenForm>(FormMediaType)
            .Produces(StatusCodes.Status200OK)
            .Produces<OAuthErrorBody>(StatusCodes.Status400BadRequest)
            .Produces<OAuthErrorBody>(StatusCodes.Status401Unauthorized);
        return endpoints;
    }

    private static async Task<IResult> IntrospectAsync(HttpContext httpContext, ServiceClients clients)
    {
        var (token, refusal) = await AuthorizeAsync(httpContext, clients, ClientScopes.Introspect);
        if (refusal is not null)
        {
            return refusal;
        }

        var found = await clients.IntrospectAsync(token.Client, token.Token, httpContext.RequestAborted);
        if (found is null)
        {
            return TypedResults.Json(IntrospectionResponse.Inactive);
        }

        // A session created through another client: that it holds, and nothing about whose it is.
        if (!found.Disclosed)
        {
            return TypedResults.Json(IntrospectionResponse.Undisclosed);
        }

        var (session, user) = (found.Session, found.User);
        var device = session.Session.Device;
        return TypedResults.Json(new IntrospectionResponse(
            Active: true,
            Sub: user.Id,
            Sid: session.Session.Id,
            Exp: session.ExpiresAt.ToUnixTimeSeconds(),
            Iat: session.Session.CreatedAt.ToUnixTimeSeconds(),
            Username: user.Email,
            Name: user.DisplayName,
            Email: user.Email,
            Role: WireNames.RoleName(user.Role),
            ClientId: token.Client.Id,
            TokenType: "Bearer",
            DeviceName: device.Name,
            DevicePlatform: WireNames.PlatformName(device.Platform),
            DeviceOs: device.Os,
            DeviceBrowser: device.Browser));
    }

    private static async Task<IResult> RevokeAsync(HttpContext httpContext, ServiceClients clients)
    {
        var (token, refusal) = await AuthorizeAsync(httpContext, clients, ClientScopes.Revoke);
        if (refusal is not null)
        {
            return refusal;
        }

        // RFC 7009 §2.2: the same 200 whether or not the token named a session that still held. §2.2.1 lets the server
        // refuse a token it will not revoke for this client: one whose session was created through another client.
        var outcome = await clients.RevokeTokenAsync(token.Client, token.Token, httpContext.ClientIp(), httpContext.RequestAborted);
        return outcome == TokenRevocation.OtherClientsSession
            ? OAuthErrors.Result(StatusCodes.Status400BadRequest, OAuthErrors.UnauthorizedClient,
                "The session was created through another client; only that client (or the person, or an admin) may end it.")
            : TypedResults.Ok();
    }

    /// <summary>
    /// The checks both endpoints make, in this order: a form body; one client authentication method; the client and its
    /// secret (throttled per address); the scope; the <c>token</c> parameter, once.
    /// </summary>
    private static async Task<(AuthorizedToken Token, IResult? Refusal)> AuthorizeAsync(HttpContext httpContext, ServiceClients clients, string scope)
    {
        var request = httpContext.Request;
        if (request.ContentType is not { } contentType
            || !MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || !mediaType.MediaType.Equals(FormMediaType, StringComparison.OrdinalIgnoreCase))
        {
            return Refuse(OAuthErrors.Result(StatusCodes.Status400BadRequest, OAuthErrors.InvalidRequest,
                $"Send the parameters as {FormMediaType}."));
        }

        // The request guard has read the form already (refusing one it cannot read); this is its cached copy.
        var form = await request.ReadFormAsync(httpContext.RequestAborted);
        var credentials = ClientCredentials.Read(request, form);
        if (credentials.BothMethods)
        {
            return Refuse(OAuthErrors.Result(StatusCodes.Status400BadRequest, OAuthErrors.InvalidRequest,
                "Authenticate the client one way only: HTTP Basic or client_id and client_secret in the form, not both."));
        }

        var authentication = await clients.AuthenticateAsync(credentials.ClientId, credentials.Secret, httpContext.ClientIp(), httpContext.RequestAborted);
        if (authentication.RetryAfter is { } wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Refuse(OAuthErrors.Result(StatusCodes.Status429TooManyRequests, OAuthErrors.RateLimited,
                $"Too many failed client authentications from this address; try again in {seconds} seconds."));
        }

        if (authentication.Client is not { } client)
        {
            if (credentials.ViaBasic || !credentials.Present)
            {
                httpContext.Response.Headers.WWWAuthenticate = OAuthErrors.BasicChallenge;
            }

            return Refuse(OAuthErrors.Result(StatusCodes.Status401Unauthorized, OAuthErrors.InvalidClient,
                credentials.Present ? "The client is unknown or disabled, or its secret is wrong." : "Authenticate the client (HTTP Basic, or client_id and client_secret)."));
        }

        if (!client.HasScope(scope))
        {
            return Refuse(OAuthErrors.Result(StatusCodes.Status400BadRequest, OAuthErrors.UnauthorizedClient,
                $"The client does not have the scope '{scope}'."));
        }

        if (!form.TryGetValue("token", out var tokens) || ClientCredentials.Single(tokens) is not { Length: > 0 } token)
        {
            return Refuse(OAuthErrors.Result(StatusCodes.Status400BadRequest, OAuthErrors.InvalidRequest,
                "The parameter 'token' is required, once."));
        }

        return (new AuthorizedToken(client, token), null);
    }

    private static (AuthorizedToken, IResult?) Refuse(IResult refusal) => (default, refusal);

    private readonly record struct AuthorizedToken(ServiceClient Client, string Token);
}

/// <summary>The form both endpoints take (for the OpenAPI document); the client's credentials may come in it too.</summary>
internal sealed record TokenForm(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("token_type_hint")] string? TokenTypeHint,
    [property: JsonPropertyName("client_id")] string? ClientId,
    [property: JsonPropertyName("client_secret")] string? ClientSecret);

/// <summary>RFC 7662 §2.2, with Tessera's own members; an inactive token is <c>{"active": false}</c> and nothing else.</summary>
internal sealed record IntrospectionResponse(
    [property: JsonPropertyName("active")] bool Active,
    [property: JsonPropertyName("sub"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Sub = null,
    [property: JsonPropertyName("sid"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Sid = null,
    [property: JsonPropertyName("exp"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Exp = null,
    [property: JsonPropertyName("iat"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Iat = null,
    [property: JsonPropertyName("username"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Username = null,
    [property: JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name = null,
    [property: JsonPropertyName("email"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Email = null,
    [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role = null,
    [property: JsonPropertyName("client_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientId = null,
    [property: JsonPropertyName("token_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TokenType = null,
    [property: JsonPropertyName("device_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DeviceName = null,
    [property: JsonPropertyName("device_platform"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DevicePlatform = null,
    [property: JsonPropertyName("device_os"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DeviceOs = null,
    [property: JsonPropertyName("device_browser"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DeviceBrowser = null)
{
    public static readonly IntrospectionResponse Inactive = new(false);

    /// <summary>A session that holds but was created through another client: <c>{"active": true}</c> and nothing else.</summary>
    public static readonly IntrospectionResponse Undisclosed = new(true);
}
