namespace MyChips.Server.Api;

/// <summary>Registers the user API of the web listener (JSON over HTTP and the WebSocket).</summary>
internal static class UserApiExtensions
{
    public static IServiceCollection AddUserApi(this IServiceCollection services) => services;

    public static IEndpointRouteBuilder MapUserApi(this IEndpointRouteBuilder endpoints) => endpoints;
}
