# frozen_string_literal: true

# TEST PROBE, NOT CHATWOOT: what an old Rails process meets when a migration adds a column under
# it. ActiveRecord (Debian's; Chatwoot runs a newer Rails, whose URL merge and statement cache
# take the same path) is configured the way Chatwoot's config/database.yml does it from the
# POSTGRES_* variables, with DATABASE_URL merged over it by Rails. It reads a table inside a
# transaction (the statement is cached), a second connection adds a column, and it reads again
# inside a transaction. Prints the merged config's prepared_statements and host, then OK or the
# error's class.
#
#   DATABASE_URL=… POSTGRES_HOST=… … ruby prepared_statements_probe.rb
require 'active_record'
require 'active_record/database_configurations'
require 'pg'

ENV['RAILS_ENV'] = 'production'
yml = {
  'production' => {
    'adapter' => 'postgresql', 'encoding' => 'unicode',
    'host' => ENV.fetch('POSTGRES_HOST'), 'port' => ENV.fetch('POSTGRES_PORT'),
    'database' => ENV.fetch('POSTGRES_DATABASE'), 'username' => ENV.fetch('POSTGRES_USERNAME'),
    'password' => ENV.fetch('POSTGRES_PASSWORD'), 'pool' => 5
  }
}
config = ActiveRecord::DatabaseConfigurations.new(yml).configs_for(env_name: 'production').first.configuration_hash
puts "prepared_statements=#{config.fetch(:prepared_statements, 'default')} host=#{config[:host]}"
ActiveRecord::Base.establish_connection(config)

class Account < ActiveRecord::Base; end

migration = PG.connect(host: config[:host], port: config[:port], user: config[:username], password: config[:password], dbname: config[:database])
migration.exec('set client_min_messages = warning; drop table if exists accounts; create table accounts (id bigserial primary key, name text)')
migration.exec("insert into accounts (name) values ('Acme')")
Account.transaction { Account.where(id: 1).to_a }
migration.exec('alter table accounts add column locale text')
begin
  Account.transaction { Account.where(id: 1).to_a }
  puts 'OK'
rescue StandardError => e
  puts "FAILED #{e.class}"
end
