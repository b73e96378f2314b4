using System.Collections;
using System.Data.Common;
using SQLitePCL;

namespace Kassa.Storage;

/// <summary>
/// The current row of a raw prepared statement (<see cref="SqliteRowStatement.TryQuery{T}"/>) seen as a
/// <see cref="DbDataReader"/>, so the stores' row readers (<c>ReadHeader</c>, <c>ReadBucket</c> …) serve both paths.
/// Only the typed getters those readers use are here; the row is stepped by the statement, not by
/// <see cref="Read"/>. Values come back as Microsoft.Data.Sqlite gives them for the same stored values: text
/// decoded from UTF-8, INTEGER as long (bool: non-zero), so a row reads the same either way (a test compares them).
/// </summary>
internal sealed class SqliteRawReader(sqlite3_stmt statement) : DbDataReader
{
    public override bool IsDBNull(int ordinal) => raw.sqlite3_column_type(statement, ordinal) == raw.SQLITE_NULL;
    public override long GetInt64(int ordinal) => raw.sqlite3_column_int64(statement, ordinal);
    public override int GetInt32(int ordinal) => checked((int)raw.sqlite3_column_int64(statement, ordinal));
    public override bool GetBoolean(int ordinal) => raw.sqlite3_column_int64(statement, ordinal) != 0;

    public override string GetString(int ordinal)
    {
        // The bytes are SQLite's, valid until the next step; decoded straight into the string (no copy).
        var bytes = raw.sqlite3_column_blob(statement, ordinal);
        return bytes.IsEmpty ? "" : System.Text.Encoding.UTF8.GetString(bytes);
    }

    public override int FieldCount => raw.sqlite3_column_count(statement);
    public override object this[int ordinal] => throw Unsupported();
    public override object this[string name] => throw Unsupported();
    public override int Depth => 0;
    public override bool HasRows => true;
    public override bool IsClosed => false;
    public override int RecordsAffected => -1;
    public override byte GetByte(int ordinal) => throw Unsupported();
    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => throw Unsupported();
    public override char GetChar(int ordinal) => throw Unsupported();
    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => throw Unsupported();
    public override string GetDataTypeName(int ordinal) => throw Unsupported();
    public override DateTime GetDateTime(int ordinal) => throw Unsupported();
    public override decimal GetDecimal(int ordinal) => throw Unsupported();
    public override double GetDouble(int ordinal) => throw Unsupported();
    public override IEnumerator GetEnumerator() => throw Unsupported();
    public override Type GetFieldType(int ordinal) => throw Unsupported();
    public override float GetFloat(int ordinal) => throw Unsupported();
    public override Guid GetGuid(int ordinal) => throw Unsupported();
    public override short GetInt16(int ordinal) => throw Unsupported();
    public override string GetName(int ordinal) => throw Unsupported();
    public override int GetOrdinal(string name) => throw Unsupported();
    public override int GetValues(object[] values) => throw Unsupported();
    public override bool NextResult() => false;
    public override bool Read() => throw Unsupported();
    public override object GetValue(int ordinal) => throw Unsupported();

    private static NotSupportedException Unsupported() =>
        new("A raw statement's row is read through its typed getters (GetString, GetInt64, GetInt32, GetBoolean, IsDBNull)");
}
