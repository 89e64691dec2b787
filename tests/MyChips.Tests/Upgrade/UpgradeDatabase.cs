using Dapper;
using Npgsql;

namespace MyChips.Tests.Upgrade;

/// <summary>What the upgrade tests read back from the site database.</summary>
public sealed class UpgradeDatabase(string connectionString)
{
    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.ExecuteAsync(sql, parameters);
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return (await connection.QueryAsync<T>(sql, parameters)).AsList();
    }

    public Task<int> VersionAsync() => ScalarAsync<int>("SELECT version FROM mychips_meta.schema_state");

    public Task<string> InstanceStateAsync(int pid) =>
        ScalarAsync<string>("SELECT state FROM mychips_meta.instances WHERE pid = @pid ORDER BY started_at DESC LIMIT 1", new { pid });
}
