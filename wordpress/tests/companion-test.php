<?php
/**
 * The companion inside a real WordPress (the site `scripts/wordpress-up DIR` started), over HTTP with an
 * application password, and in-process for what only WordPress's own functions can see (user meta, LearnDash's
 * access check, the queue). Run by scripts/wordpress-test:
 *
 *   php wordpress/tests/companion-test.php DIR
 *
 * Prints one line per check ("ok" or "FAIL ... expected/got") and exits 1 if any failed.
 *
 * @package MemberSync_Companion_Tests
 */

$dir = rtrim( $argv[1] ?? '', '/' );
$env = parse_ini_file( "$dir/env" );
require __DIR__ . '/bootstrap.php';
membersync_test_wordpress( $env['WP_SITE_DIR'] );

$failures = 0;
$secret   = 'whsec-companion-test-0123456789';

function check( bool $ok, string $what, $got = null ): void {
	global $failures;
	if ( $ok ) {
		echo "ok   $what\n";
		return;
	}
	++$failures;
	echo "FAIL $what" . ( null === $got ? '' : ': got ' . json_encode( $got, JSON_UNESCAPED_SLASHES ) ) . "\n";
}

/** [status, decoded JSON or raw text, headers] of a request to the test site. */
function http( string $method, string $path, $body = null, ?string $auth = 'admin', array $extra = array() ): array {
	global $env;
	$headers = preg_grep( '/^Content-Type:/i', $extra ) ? array() : array( 'Content-Type: application/json' );
	if ( 'admin' === $auth ) {
		$headers[] = 'Authorization: Basic ' . base64_encode( 'admin:' . $env['WP_APP_PASSWORD'] );
	} elseif ( null !== $auth ) {
		$headers[] = 'Authorization: Basic ' . base64_encode( $auth );
	}
	$context = stream_context_create(
		array(
			'http' => array(
				'method'          => $method,
				'header'          => implode( "\r\n", array_merge( $headers, $extra ) ),
				'content'         => is_string( $body ) ? $body : ( null === $body ? '' : json_encode( $body ) ),
				'ignore_errors'   => true,
				'follow_location' => 0,
				'timeout'         => 30,
			),
		)
	);
	$text   = file_get_contents( $env['WP_URL'] . $path, false, $context );
	$status = (int) explode( ' ', $http_response_header[0] )[1];
	$json   = json_decode( (string) $text, true );
	return array( $status, null === $json ? $text : $json, $http_response_header );
}

/** Sign in through wp-login.php; returns the Cookie header for later requests. */
function login( string $user, string $password ): string {
	list( , , $headers ) = http( 'POST', '/wp-login.php', http_build_query( array( 'log' => $user, 'pwd' => $password, 'testcookie' => '1' ) ), null, array( 'Content-Type: application/x-www-form-urlencoded', 'Cookie: wordpress_test_cookie=WP%20Cookie%20check' ) );
	$cookies = array( 'wordpress_test_cookie=WP%20Cookie%20check' );
	foreach ( $headers as $line ) {
		if ( preg_match( '/^Set-Cookie:\s*([^;]+)/i', $line, $m ) ) {
			$cookies[] = $m[1];
		}
	}
	return 'Cookie: ' . implode( '; ', $cookies );
}

function fresh(): void {
	wp_cache_flush();
}

function queued(): array {
	global $wpdb;
	$rows = $wpdb->get_results( 'SELECT * FROM ' . MemberSync_Companion_Queue::table() . ' ORDER BY id', ARRAY_A );
	return array_map(
		function ( $row ) {
			$row['body'] = json_decode( $row['body'], true );
			return $row;
		},
		$rows
	);
}

function queue_clear(): void {
	global $wpdb;
	$wpdb->query( 'DELETE FROM ' . MemberSync_Companion_Queue::table() );
}

function post( string $type, string $title, array $meta = array() ): int {
	$id = wp_insert_post( array( 'post_type' => $type, 'post_title' => $title, 'post_status' => 'publish', 'post_content' => "The content of $title." ) );
	foreach ( $meta as $key => $value ) {
		update_post_meta( $id, $key, $value );
	}
	return $id;
}

// ---- the site: a student, two courses (one through a group), steps ----

$student_password = 'student-password-123';
$student          = wp_insert_user( array( 'user_login' => 'dana', 'user_email' => 'dana@example.test', 'user_pass' => $student_password, 'role' => 'subscriber' ) );
$student_app      = WP_Application_Passwords::create_new_application_password( $student, array( 'name' => 'dana' ) )[0];
$course           = post( 'sfwd-courses', 'Watercolour', array( 'price_type' => 'closed' ) );
$group            = post( 'groups', 'Acme cohort' );
$group_course     = post( 'sfwd-courses', 'Ink', array( 'price_type' => 'closed', "learndash_group_enrolled_$group" => time() ) );
$lesson           = post( 'sfwd-lessons', 'Week 1', array( 'course_id' => $course ) );
$hidden           = post( 'sfwd-lessons', 'Week 2 (hidden)', array( 'course_id' => $course ) );
$locked           = post( 'sfwd-lessons', 'Week 3 (locked)', array( 'course_id' => $course ) );
$topic            = post( 'sfwd-topic', 'Week 2, topic', array( 'course_id' => $course ) );
$quiz             = post( 'sfwd-quiz', 'Colour quiz', array( 'course_id' => $course ) );
update_post_meta(
	$course,
	'ld_course_steps',
	array(
		'steps' => array(
			'h' => array(
				'sfwd-lessons' => array(
					$lesson => array(),
					$hidden => array( 'sfwd-topic' => array( $topic => array() ) ),
					$locked => array(),
				),
				'sfwd-quiz'    => array( $quiz => array() ),
			),
		),
	)
);
global $wp_rewrite;
$wp_rewrite->flush_rules( false ); // the stand-in's post types get their permalinks

// ---- who may call the routes ----

list( $status, $body ) = http( 'GET', '/wp-json/membersync/v1/status' );
check( 200 === $status && '1.0.0' === $body['version'] && 0 === $body['queue_length'] && array_key_exists( 'last_delivery_at', $body ) && array_key_exists( 'last_error', $body ), 'status answers version, queue_length, last_delivery_at, last_error', $body );
list( $status, $body ) = http( 'GET', '/wp-json/membersync/v1/status', null, null );
check( 401 === $status && 'rest_forbidden' === $body['code'], 'no credentials: 401', array( $status, $body ) );
list( $status ) = http( 'GET', '/wp-json/membersync/v1/status', null, 'admin:wrong wrong wrong wrong' );
check( 401 === $status, 'a wrong application password: 401', $status );
list( $status ) = http( 'POST', "/wp-json/membersync/v1/users/$student/access", array( 'items' => array() ), "dana:$student_app" );
check( 403 === $status, 'a student signed in with her own application password: 403', $status );

// ---- enrollments: MemberSync's own through LearnDash's REST are not echoed; hand ones are queued ----

list( $status, $body ) = http( 'POST', "/wp-json/ldlms/v2/users/$student/courses", array( 'course_ids' => array( $course ) ) );
fresh();
check( 200 === $status && 'success' === $body[0]['status'], 'LearnDash (stand-in) enrolls through its REST with the MemberSync application password', $body );
check( array() === queued(), 'an enrollment MemberSync made itself is not queued back to it', queued() );
$enrolled_at = (int) get_user_meta( $student, "course_{$course}_access_from", true );

ld_update_course_access( $student, $group_course );     // by hand: an admin screen
ld_update_course_access( $student, $group_course, true );
ld_update_group_access( $student, $group );
$topics = array_column( array_column( queued(), 'body' ), 'topic' );
check( array( 'enrollment.added', 'enrollment.removed', 'group.joined' ) === $topics, 'hand enrollments, unenrollments and group joins are queued', $topics );
$first = queued()[0]['body'];
check(
	$first['user'] === array( 'id' => $student, 'email' => 'dana@example.test' ) && $group_course === $first['course'] && preg_match( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $first['occurred_at'] ) && $first['id'] === queued()[0]['delivery_id'] && null !== $first['access_from'],
	'a delivery names the user (id, email), the course, when (ISO 8601 GMT), its id and the drip clock',
	$first
);
queue_clear();

// ---- access: checked bodies, per-item results ----

$bad = array(
	'items'                      => array( 'items' => 'all' ),
	'items[0].kind'              => array( 'items' => array( array( 'kind' => 'lesson', 'id' => 1, 'status' => 'active', 'access_from' => null ) ) ),
	'items[0].id'                => array( 'items' => array( array( 'kind' => 'course', 'id' => '12', 'status' => 'active', 'access_from' => null ) ) ),
	'items[0].status'            => array( 'items' => array( array( 'kind' => 'course', 'id' => 12, 'status' => 'paused', 'access_from' => null ) ) ),
	'items[1].access_from'       => array( 'items' => array( array( 'kind' => 'course', 'id' => $course, 'status' => 'suspended', 'access_from' => null ), array( 'kind' => 'course', 'id' => 12, 'status' => 'active', 'access_from' => '2026-01-01' ) ) ),
	'items[0].access_from'       => array( 'items' => array( array( 'kind' => 'group', 'id' => $group, 'status' => 'active', 'access_from' => 5 ) ) ),
);
foreach ( $bad as $field => $payload ) {
	list( $status, $body ) = http( 'POST', "/wp-json/membersync/v1/users/$student/access", $payload );
	check( 400 === $status && $field === $body['data']['field'] && false !== strpos( $body['message'], $field ), "a malformed body is 400 naming $field", $body );
}
fresh();
check( '' === get_user_meta( $student, "membersync_suspended_course_$course", true ), 'a refused body changed nothing (its valid first item was not applied)' );
list( $status ) = http( 'POST', "/wp-json/membersync/v1/users/$student/access", '{"items": [', 'admin' );
check( 400 === $status, 'a body that is not JSON is 400', $status );
list( $status, $body ) = http( 'POST', '/wp-json/membersync/v1/users/99999/access', array( 'items' => array( array( 'kind' => 'course', 'id' => $course, 'status' => 'active', 'access_from' => null ) ) ) );
check( 400 === $status && 'membersync_invalid_user_id' === $body['code'], 'an unknown user is 400', $body );

list( $status, $body ) = http(
	'POST',
	"/wp-json/membersync/v1/users/$student/access",
	array(
		'items' => array(
			array( 'kind' => 'course', 'id' => $course, 'status' => 'suspended', 'access_from' => null ),
			array( 'kind' => 'course', 'id' => $group_course, 'status' => 'suspended', 'access_from' => null ),
			array( 'kind' => 'course', 'id' => $lesson, 'status' => 'active', 'access_from' => null ),
		),
	)
);
$codes = array_column( $body['items'] ?? array(), 'code' );
check( 200 === $status && array( 'membersync_access_updated', 'membersync_not_enrolled', 'membersync_invalid_id' ) === $codes, 'one result per item: updated, not enrolled, invalid id', $body );
check( array( 'kind', 'id', 'status', 'code', 'message' ) === array_keys( $body['items'][0] ) && array( 'success', 'failed', 'failed' ) === array_column( $body['items'], 'status' ), 'a result is {kind, id, status, code, message}', $body['items'] );

// ---- a suspension refuses the course through LearnDash's own check and keeps everything ----

fresh();
check( (bool) get_user_meta( $student, "membersync_suspended_course_$course", true ), 'a suspension is recorded in user meta membersync_suspended_course_<id>' );
check( false === sfwd_lms_has_access( $course, $student ) && false === sfwd_lms_has_access( $lesson, $student ), 'while suspended LearnDash refuses the course and its steps' );
check( $enrolled_at === (int) get_user_meta( $student, "course_{$course}_access_from", true ), 'a suspension keeps the enrollment and its drip clock' );

$resumed_from = $enrolled_at + 9 * DAY_IN_SECONDS; // pushed back by the paused time: later than now
list( $status, $body ) = http( 'POST', "/wp-json/membersync/v1/users/$student/access", array( 'items' => array( array( 'kind' => 'course', 'id' => $course, 'status' => 'active', 'access_from' => $resumed_from ) ) ) );
fresh();
check( 200 === $status && 'membersync_access_updated' === $body['items'][0]['code'], 'a resumption answers membersync_access_updated', $body );
check( $resumed_from === (int) get_user_meta( $student, "course_{$course}_access_from", true ), 'a resumption writes access_from exactly, even in the future (no clamping to now)', get_user_meta( $student, "course_{$course}_access_from", true ) );
check( '' === get_user_meta( $student, "membersync_suspended_course_$course", true ) && true === sfwd_lms_has_access( $course, $student ), 'a resumption lifts the suspension: LearnDash lets her in again' );
check( array() === queued(), 'the companion\'s own writes queue nothing', queued() );

// ---- groups: a suspended group takes away the courses she has only through it ----

check( true === sfwd_lms_has_access( $group_course, $student ), 'the group gives its course' );
http( 'POST', "/wp-json/membersync/v1/users/$student/access", array( 'items' => array( array( 'kind' => 'group', 'id' => $group, 'status' => 'suspended', 'access_from' => null ) ) ) );
fresh();
check( false === sfwd_lms_has_access( $group_course, $student ) && true === sfwd_lms_has_access( $course, $student ), 'a suspended group refuses its courses, not a course she has directly' );
check( '' !== get_user_meta( $student, "learndash_group_users_$group", true ), 'a suspended group keeps her a member' );
http( 'POST', "/wp-json/membersync/v1/users/$student/access", array( 'items' => array( array( 'kind' => 'group', 'id' => $group, 'status' => 'active', 'access_from' => null ) ) ) );
fresh();
check( true === sfwd_lms_has_access( $group_course, $student ), 'an active group gives its course again' );

// ---- step decisions: stored, then enforced when pages render ----

list( $status, $body ) = http( 'POST', "/wp-json/membersync/v1/users/$student/steps", array( 'course' => 12345, 'steps' => array() ) );
check( 400 === $status && 'course' === $body['data']['field'], 'steps for something that is not a course: 400 naming course', $body );
list( $status, $body ) = http( 'POST', "/wp-json/membersync/v1/users/$student/steps", array( 'course' => $course, 'steps' => array( $hidden => array( 'state' => 'gone' ) ) ) );
check( 400 === $status && "steps.$hidden.state" === $body['data']['field'], 'a step with an unknown state: 400 naming it', $body );
$steps = array(
	$lesson => array( 'state' => 'open', 'text' => '' ),
	$hidden => array( 'state' => 'hidden', 'text' => '' ),
	$locked => array( 'state' => 'locked', 'text' => 'Opens on day 14 of your membership' ),
);
list( $status, $body ) = http( 'POST', "/wp-json/membersync/v1/users/$student/steps", array( 'course' => $course, 'steps' => $steps ) );
fresh();
check( 200 === $status && 3 === $body['stored'], 'step decisions are stored', $body );
check( 'locked' === get_user_meta( $student, "membersync_steps_$course", true )[ $locked ]['state'], 'in user meta membersync_steps_<course>' );
wp_set_current_user( $student );
$navigation = learndash_get_course_steps( $course );
check( ! in_array( $hidden, $navigation, true ) && ! in_array( $topic, $navigation, true ) && in_array( $locked, $navigation, true ), 'a hidden step (and what is below it) leaves the course navigation', $navigation );
check( false === learndash_can_user_read_step( $hidden, $course ) && true === learndash_can_user_read_step( $locked, $course ), 'LearnDash says the hidden step cannot be read' );
$badge = learndash_course_step_attributes( $locked, $course, $student );
check( 'Opens on day 14 of your membership' === ( $badge[0]['label'] ?? null ), 'a locked step shows its text as a badge in the navigation', $badge );
wp_set_current_user( 0 );
check( in_array( $hidden, learndash_get_course_steps( $course ), true ), 'someone else still sees the whole course' );

$cookie           = login( 'dana', $student_password );
list( $status, $page ) = http( 'GET', wp_make_link_relative( get_permalink( $locked ) ), null, null, array( $cookie ) );
check( 200 === $status && false !== strpos( $page, 'Opens on day 14 of your membership' ) && false === strpos( $page, 'The content of Week 3' ), 'a locked step\'s page shows its text instead of its content', $page );
list( $status ) = http( 'GET', wp_make_link_relative( get_permalink( $hidden ) ), null, null, array( $cookie ) );
check( 404 === $status, 'a hidden step\'s page is a 404 for her', $status );
list( $status, $page ) = http( 'GET', wp_make_link_relative( get_permalink( $lesson ) ), null, null, array( $cookie ) );
check( 200 === $status && false !== strpos( $page, 'The content of Week 1' ), 'an open step renders as it is', $status );
list( $status ) = http( 'GET', wp_make_link_relative( get_permalink( $hidden ) ) );
check( 200 === $status, 'the hidden step is there for others', $status );

// ---- activity: progress, quizzes, essays, assignments, leaders, tags ----

queue_clear();
$user = get_user_by( 'id', $student );
do_action( 'learndash_course_completed', array( 'user' => $user, 'course' => get_post( $course ), 'progress' => array(), 'course_completed' => time() ) );
do_action( 'learndash_lesson_completed', array( 'user' => $user, 'course' => get_post( $course ), 'lesson' => get_post( $lesson ), 'progress' => array() ) );
do_action( 'learndash_topic_completed', array( 'user' => $user, 'course' => get_post( $course ), 'lesson' => get_post( $hidden ), 'topic' => get_post( $topic ), 'progress' => array() ) );

/** A question as WP Pro Quiz gives it: its id and category. */
class Membersync_Test_Question {
	public function __construct( private int $id, private string $category ) {}
	public function getId() { return $this->id; } // phpcs:ignore
	public function getCategoryName() { return $this->category; } // phpcs:ignore
}
$_POST['results'] = array(
	'comp' => array(),
	11     => array( 'points' => 2, 'possiblePoints' => 2 ),
	12     => array( 'points' => 0, 'possiblePoints' => 2 ),
	13     => array( 'points' => 3, 'possiblePoints' => 4 ),
);
do_action(
	'learndash_quiz_submitted',
	array( 'quiz' => get_post( $quiz ), 'course' => get_post( $course ), 'lesson' => 0, 'topic' => 0, 'percentage' => 62.5, 'points' => 5, 'total_points' => 8, 'pass' => 1, 'questions' => array( new Membersync_Test_Question( 11, 'Colour' ), new Membersync_Test_Question( 12, 'Colour' ), new Membersync_Test_Question( 13, 'Brushes' ) ) ),
	$user
);
unset( $_POST['results'] );
$essay = wp_insert_post( array( 'post_type' => 'sfwd-essays', 'post_title' => 'Essay', 'post_status' => 'graded', 'post_author' => $student ) );
update_post_meta( $essay, 'course_id', $course );
update_post_meta( $essay, 'quiz_post_id', $quiz );
do_action( 'learndash_new_essay_submitted', $essay, array() );
do_action( 'learndash_assignment_uploaded', 777, array( 'user_id' => $student, 'course_id' => $course, 'lesson_id' => $lesson ) );
ld_update_leader_group_access( $student, $group );
ld_update_leader_group_access( $student, $group, true );
ld_update_group_access( $student, $group, true );
do_action( 'fluentcrm_contact_added_to_tags', array( 7 ), (object) array( 'id' => 3, 'email' => 'dana@example.test', 'user_id' => $student ) );
do_action( 'fluentcrm_contact_removed_from_tags', array( 7 ), (object) array( 'id' => 3, 'email' => 'nobody@example.test', 'user_id' => null ) );
$bodies = array_column( queued(), 'body' );
check(
	array( 'course.completed', 'lesson.completed', 'topic.completed', 'quiz.submitted', 'essay.submitted', 'assignment.uploaded', 'group_leader.added', 'group_leader.removed', 'group.left', 'tag.applied', 'tag.removed' ) === array_column( $bodies, 'topic' ),
	'each LearnDash and FluentCRM hook queues its topic',
	array_column( $bodies, 'topic' )
);
$quiz_body = $bodies[3];
check(
	$quiz === $quiz_body['quiz'] && $course === $quiz_body['course'] && 62.5 == $quiz_body['percentage'] && 5 === $quiz_body['points'] && 8 === $quiz_body['points_total'] && true === $quiz_body['passed'] && array( 'Colour' => 50, 'Brushes' => 75 ) == $quiz_body['categories'],
	'a quiz delivery has percentage, points, points_total, passed and each category\'s score',
	$quiz_body
);
check( $topic === $bodies[2]['topic_id'] && $hidden === $bodies[2]['lesson'] && $essay === $bodies[4]['essay'] && $quiz === $bodies[4]['quiz'] && 777 === $bodies[5]['assignment'], 'progress deliveries name their course, lesson, topic, essay or assignment', array_slice( $bodies, 2, 4 ) );
check( array( 'id' => 7, 'title' => null, 'slug' => null ) === $bodies[9]['tag'] && $student === $bodies[9]['user']['id'] && array( 'id' => null, 'email' => 'nobody@example.test' ) === $bodies[10]['user'], 'a tag delivery names the tag and the contact\'s user, or only the email when she has no account', array_slice( $bodies, 9 ) );
do_action( 'learndash_quiz_submitted', array( 'quiz' => $quiz, 'course' => $course, 'percentage' => 0, 'points' => 0, 'total_points' => 8, 'pass' => 0 ), $student );
$raw = end( $GLOBALS['wpdb']->get_col( 'SELECT body FROM ' . MemberSync_Companion_Queue::table() . ' ORDER BY id' ) );
check( false !== strpos( $raw, '"categories":{}' ) && false !== strpos( $raw, '"passed":false' ), 'a quiz with no category scores sends an empty object; a failed one passed false', $raw );
$bodies = array_column( queued(), 'body' );

// ---- sending: signed, retried with backoff when MemberSync does not take it ----

$receiver_dir  = "$dir/receiver";
mkdir( $receiver_dir );
$receiver_port = (function () {
	$socket = socket_create( AF_INET, SOCK_STREAM, 0 );
	socket_bind( $socket, '127.0.0.1', 0 );
	socket_getsockname( $socket, $address, $port );
	socket_close( $socket );
	return $port;
})();
$receiver = proc_open( array( PHP_BINARY, '-S', "127.0.0.1:$receiver_port", __DIR__ . '/receiver.php' ), array( array( 'file', '/dev/null', 'r' ), array( 'file', "$receiver_dir/log", 'a' ), array( 'file', "$receiver_dir/log", 'a' ) ), $pipes, null, array( 'RECEIVER_DIR' => $receiver_dir ) );
register_shutdown_function( fn() => proc_terminate( $receiver ) ); // however the test ends
for ( $i = 0; $i < 100 && ! @fsockopen( '127.0.0.1', $receiver_port ); $i++ ) {
	usleep( 100000 );
}
file_put_contents( "$receiver_dir/status", '500' );
MemberSync_Companion_Settings::save( array( 'url' => "http://127.0.0.1:$receiver_port/", 'connection' => 'academy', 'secret' => $secret ) );
fresh();
check( false === strpos( (string) $wpdb->get_var( "SELECT option_value FROM $wpdb->options WHERE option_name = 'membersync_companion'" ), $secret ), 'the secret is not stored in clear' );
$before = count( queued() );
wp_unschedule_hook( MemberSync_Companion_Queue::CRON_HOOK );
wp_schedule_single_event( time() - 1, MemberSync_Companion_Queue::CRON_HOOK );
list( $status ) = http( 'GET', '/wp-cron.php', null, null );
fresh();
$rows = queued();
check( 200 === $status && $before === count( $rows ), 'WP-Cron sends the queue; MemberSync answering 500 leaves every delivery queued', array( $status, count( $rows ) ) );
check( 1 === (int) $rows[0]['attempts'] && (int) $rows[0]['next_attempt_at'] >= time() + 50 && false !== strpos( $rows[0]['last_error'], '500' ), 'the failed one waits a minute before its next try', $rows[0] );
check( 0 === (int) $rows[1]['attempts'], 'a failure stops the batch: the others were not tried', $rows[1] );
list( , $body ) = http( 'GET', '/wp-json/membersync/v1/status' );
check( $before === $body['queue_length'] && false !== strpos( (string) $body['last_error'], 'HTTP 500' ), 'status reports the queue and the last error', $body );
$wpdb->query( 'UPDATE ' . MemberSync_Companion_Queue::table() . ' SET attempts = 3, next_attempt_at = 0 WHERE id = ' . (int) $rows[0]['id'] );
MemberSync_Companion_Queue::send_due();
fresh();
check( time() + 230 <= (int) queued()[0]['next_attempt_at'] && 4 === (int) queued()[0]['attempts'], 'the backoff doubles: a fourth failure waits 8 minutes', queued()[0] );

file_put_contents( "$receiver_dir/status", '200' );
$wpdb->query( 'UPDATE ' . MemberSync_Companion_Queue::table() . ' SET next_attempt_at = 0' );
$sent = MemberSync_Companion_Queue::send_due();
fresh();
check( $before === $sent['sent'] && array() === queued(), 'once MemberSync answers 2xx every delivery is sent and leaves the queue', $sent );
$received = array_map( 'json_decode', file( "$receiver_dir/requests.jsonl" ), array_fill( 0, count( file( "$receiver_dir/requests.jsonl" ) ), true ) );
$accepted = array_values( array_filter( $received, fn( $r ) => 200 === $r['status'] ) );
$all_good = count( $accepted ) === $before;
foreach ( $accepted as $request ) {
	$headers = array_change_key_case( $request['headers'] );
	$body    = json_decode( $request['body'], true );
	$all_good = $all_good
		&& '/webhooks/learndash/academy' === $request['path']
		&& hash_equals( base64_encode( hash_hmac( 'sha256', $request['body'], $secret, true ) ), $headers['x-membersync-signature'] ?? '' )
		&& $headers['x-membersync-delivery'] === $body['id']
		&& $headers['x-membersync-topic'] === $body['topic']
		&& 'application/json' === $headers['content-type'];
}
check( $all_good, 'each delivery is posted to /webhooks/learndash/<connection> with its HMAC-SHA256 signature, id and topic', $accepted[0] ?? null );
check( array_column( $bodies, 'topic' ) === array_map( fn( $r ) => json_decode( $r['body'], true )['topic'], $accepted ), 'deliveries arrive oldest first' );
check( $received[0]['body'] === $accepted[0]['body'], 'a retried delivery is the same bytes with the same id' );
list( , $body ) = http( 'GET', '/wp-json/membersync/v1/status' );
check( 0 === $body['queue_length'] && null === $body['last_error'] && null !== $body['last_delivery_at'], 'status: queue empty, last delivery set, no error', $body );

// ---- the settings page and its status line ----

$admin_cookie = login( 'admin', (function () { // the admin's password is random: set a known one for the form login
	wp_set_password( 'admin-password-123', get_user_by( 'login', 'admin' )->ID );
	return 'admin-password-123';
})() );
list( $status, $page ) = http( 'GET', '/wp-admin/options-general.php?page=membersync-companion', null, null, array( $admin_cookie ) );
check( 200 === $status && false !== strpos( $page, 'Waiting to be sent: 0' ) && false !== strpos( $page, 'Last delivery: 20' ) && false !== strpos( $page, 'name="membersync_companion[url]"' ) && false === strpos( $page, $secret ), 'the settings page has the fields and the status line, never the secret', $status );

$log = (string) @file_get_contents( dirname( $env['WP_SITE_DIR'] ) . '/debug.log' );
preg_match_all( '/^.*membersync-companion.*$/m', $log, $m );
check( array() === $m[0], 'the companion raised no PHP warning or notice', $m[0] );

echo $failures ? "\n$failures check(s) failed\n" : "\nall checks passed\n";
exit( $failures ? 1 : 0 );
