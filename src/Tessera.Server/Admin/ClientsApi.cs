using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core.Clients;
using Tessera.Server.Authentication;
using Tessera.Server.Contracts;
using Tessera.Server.Http;

namespace Tessera.Server.Admin;

/// <summary>/v1/admin/clients: the service clients that introspect and revoke sessions at /oauth2. Admins only.</summary>
internal static class ClientsApi
{
    public static IEndpointRouteBuilder MapClientsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/admin/clients").WithTags("Admin").RequireAdmin();
        group.MapPost("/", CreateAsync);
        group.MapGet("/", ListAsync);
        group.MapPost("/{id}/rotate", RotateAsync);
        group.MapPost("/{id}/disable", DisableAsync);
        return endpoints;
    }

    private static async Task<Results<Created<IssuedClientResponse>, ProblemHttpResult>> CreateAsync(
        CreateClientRequest? body, CurrentSession current, ServiceClients clients, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {name, scopes}.");
        }

        var issued = await clients.CreateAsync(current.Actor, body.Name, body.Scopes, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Created((string?)null, new IssuedClientResponse(ClientDto.From(issued.Client), issued.Secret));
    }

    private static async Task<Ok<ClientsResponse>> ListAsync(ServiceClients clients, HttpContext httpContext)
    {
        var all = await clients.ListAsync(httpContext.RequestAborted);
        return TypedResults.Ok(new ClientsResponse(all.Select(ClientDto.From).ToList()));
    }

    private static async Task<Ok<IssuedClientResponse>> RotateAsync(string id, CurrentSession current, ServiceClients clients, HttpContext httpContext)
    {
        var issued = await clients.RotateAsync(current.Actor, id, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Ok(new IssuedClientResponse(ClientDto.From(issued.Client), issued.Secret));
    }

    private static async Task<Ok<ClientResponse>> DisableAsync(string id, CurrentSession current, ServiceClients clients, HttpContext httpContext) =>
        TypedResults.Ok(new ClientResponse(ClientDto.From(await clients.DisableAsync(current.Actor, id, httpContext.ClientIp(), httpContext.RequestAborted))));
}
