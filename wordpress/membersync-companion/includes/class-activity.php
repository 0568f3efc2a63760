<?php
/**
 * What happens in LearnDash (and FluentCRM, when it runs here), queued for MemberSync as one delivery each.
 *
 * Enrollments, unenrollments and group joins or leaves are sent only when made by hand (an admin screen, another
 * plugin): those MemberSync itself makes through LearnDash's REST API, in a request signed in with its
 * application password (by name: Settings → MemberSync), are its own echo and are not sent back.
 *
 * @package MemberSync_Companion
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

class MemberSync_Companion_Activity {

	/** Whether the current request is MemberSync's own (signed in with its application password). */
	private static bool $membersync_request = false;

	public static function register(): void {
		add_action( 'application_password_did_authenticate', array( __CLASS__, 'authenticated' ), 10, 2 );
		add_action( 'learndash_update_course_access', array( __CLASS__, 'course_access' ), 10, 4 );
		add_action( 'ld_added_group_access', array( __CLASS__, 'group_joined' ), 10, 2 );
		add_action( 'ld_removed_group_access', array( __CLASS__, 'group_left' ), 10, 2 );
		add_action( 'ld_added_leader_group_access', array( __CLASS__, 'leader_added' ), 10, 2 );
		add_action( 'ld_removed_leader_group_access', array( __CLASS__, 'leader_removed' ), 10, 2 );
		add_action( 'learndash_course_completed', array( __CLASS__, 'course_completed' ) );
		add_action( 'learndash_lesson_completed', array( __CLASS__, 'lesson_completed' ) );
		add_action( 'learndash_topic_completed', array( __CLASS__, 'topic_completed' ) );
		add_action( 'learndash_quiz_submitted', array( __CLASS__, 'quiz_submitted' ), 10, 2 );
		add_action( 'learndash_new_essay_submitted', array( __CLASS__, 'essay_submitted' ), 10, 2 );
		add_action( 'learndash_assignment_uploaded', array( __CLASS__, 'assignment_uploaded' ), 10, 2 );
		add_action( 'fluentcrm_contact_added_to_tags', array( __CLASS__, 'tags_applied' ), 10, 2 );
		add_action( 'fluentcrm_contact_removed_from_tags', array( __CLASS__, 'tags_removed' ), 10, 2 );
	}

	public static function authenticated( $user, $item ): void {
		if ( is_array( $item ) && isset( $item['name'] ) && MemberSync_Companion_Settings::app_password_name() === $item['name'] ) {
			self::$membersync_request = true;
		}
	}

	public static function is_membersync_request(): bool {
		return self::$membersync_request;
	}

	// ---- enrollments and groups ----

	public static function course_access( $user_id, $course_id, $access_list = null, $remove = false ): void {
		if ( self::$membersync_request ) {
			return;
		}
		$fields = array( 'course' => (int) $course_id );
		if ( ! $remove ) {
			$from                  = (int) get_user_meta( (int) $user_id, 'course_' . (int) $course_id . '_access_from', true );
			$fields['access_from'] = $from ? gmdate( 'Y-m-d\TH:i:s\Z', $from ) : null;
		}
		MemberSync_Companion_Queue::push( $remove ? 'enrollment.removed' : 'enrollment.added', (int) $user_id, $fields );
	}

	public static function group_joined( $user_id, $group_id ): void {
		if ( ! self::$membersync_request ) {
			MemberSync_Companion_Queue::push( 'group.joined', (int) $user_id, array( 'group' => (int) $group_id ) );
		}
	}

	public static function group_left( $user_id, $group_id ): void {
		if ( ! self::$membersync_request ) {
			MemberSync_Companion_Queue::push( 'group.left', (int) $user_id, array( 'group' => (int) $group_id ) );
		}
	}

	public static function leader_added( $user_id, $group_id ): void {
		MemberSync_Companion_Queue::push( 'group_leader.added', (int) $user_id, array( 'group' => (int) $group_id ) );
	}

	public static function leader_removed( $user_id, $group_id ): void {
		MemberSync_Companion_Queue::push( 'group_leader.removed', (int) $user_id, array( 'group' => (int) $group_id ) );
	}

	// ---- progress ----

	public static function course_completed( $data ): void {
		$data = (array) $data;
		MemberSync_Companion_Queue::push( 'course.completed', self::user_id( $data['user'] ?? 0 ), array( 'course' => self::id( $data['course'] ?? 0 ) ) );
	}

	public static function lesson_completed( $data ): void {
		$data = (array) $data;
		MemberSync_Companion_Queue::push(
			'lesson.completed',
			self::user_id( $data['user'] ?? 0 ),
			array(
				'course' => self::id( $data['course'] ?? 0 ),
				'lesson' => self::id( $data['lesson'] ?? 0 ),
			)
		);
	}

	public static function topic_completed( $data ): void {
		$data = (array) $data;
		MemberSync_Companion_Queue::push(
			'topic.completed',
			self::user_id( $data['user'] ?? 0 ),
			array(
				'course'   => self::id( $data['course'] ?? 0 ),
				'lesson'   => self::id( $data['lesson'] ?? 0 ),
				'topic_id' => self::id( $data['topic'] ?? 0 ), // "topic" names the delivery's event
			)
		);
	}

	public static function quiz_submitted( $quizdata, $user = null ): void {
		$quizdata = (array) $quizdata;
		MemberSync_Companion_Queue::push(
			'quiz.submitted',
			self::user_id( $user ),
			array(
				'quiz'         => self::id( $quizdata['quiz'] ?? 0 ),
				'course'       => self::id( $quizdata['course'] ?? 0 ),
				'lesson'       => self::id( $quizdata['lesson'] ?? 0 ),
				'topic_id'     => self::id( $quizdata['topic'] ?? 0 ),
				'percentage'   => isset( $quizdata['percentage'] ) ? (float) $quizdata['percentage'] : null,
				'points'       => isset( $quizdata['points'] ) ? (int) $quizdata['points'] : null,
				'points_total' => isset( $quizdata['total_points'] ) ? (int) $quizdata['total_points'] : null,
				'passed'       => ! empty( $quizdata['pass'] ),
				'categories'   => (object) self::category_scores( $quizdata ), // {} when none, never []
			)
		);
	}

	/**
	 * Each question category's score in percent: the points of the answers the quiz form posted
	 * ($_POST['results'][question id]) over what they could have had, by the questions' categories.
	 */
	private static function category_scores( array $quizdata ): array {
		$results = isset( $_POST['results'] ) && is_array( $_POST['results'] ) ? wp_unslash( $_POST['results'] ) : array(); // phpcs:ignore WordPress.Security.NonceVerification,WordPress.Security.ValidatedSanitizedInput -- LearnDash checked the nonce; read as numbers only
		$scores  = array();
		foreach ( (array) ( $quizdata['questions'] ?? array() ) as $question ) {
			if ( ! is_object( $question ) || ! method_exists( $question, 'getId' ) || ! method_exists( $question, 'getCategoryName' ) ) {
				continue;
			}
			$answer = $results[ $question->getId() ] ?? null;
			$name   = (string) $question->getCategoryName();
			if ( ! is_array( $answer ) || '' === $name ) {
				continue;
			}
			$scores[ $name ]['points']   = ( $scores[ $name ]['points'] ?? 0 ) + (float) ( $answer['points'] ?? 0 );
			$scores[ $name ]['possible'] = ( $scores[ $name ]['possible'] ?? 0 ) + (float) ( $answer['possiblePoints'] ?? 0 );
		}
		$percent = array();
		foreach ( $scores as $name => $score ) {
			$percent[ $name ] = $score['possible'] > 0 ? round( $score['points'] * 100 / $score['possible'], 2 ) : 0;
		}
		return $percent;
	}

	public static function essay_submitted( $essay_id, $essay_args = array() ): void {
		$essay = get_post( (int) $essay_id );
		if ( ! $essay ) {
			return;
		}
		MemberSync_Companion_Queue::push(
			'essay.submitted',
			(int) $essay->post_author,
			array(
				'essay'    => (int) $essay_id,
				'quiz'     => (int) get_post_meta( $essay->ID, 'quiz_post_id', true ),
				'question' => (int) get_post_meta( $essay->ID, 'question_post_id', true ),
				'course'   => (int) get_post_meta( $essay->ID, 'course_id', true ),
				'lesson'   => (int) get_post_meta( $essay->ID, 'lesson_id', true ),
			)
		);
	}

	public static function assignment_uploaded( $assignment_id, $meta = array() ): void {
		$meta = is_array( $meta ) ? $meta : array();
		$user = (int) ( $meta['user_id'] ?? get_post_field( 'post_author', (int) $assignment_id ) );
		MemberSync_Companion_Queue::push(
			'assignment.uploaded',
			$user,
			array(
				'assignment' => (int) $assignment_id,
				'course'     => (int) ( $meta['course_id'] ?? get_post_meta( (int) $assignment_id, 'course_id', true ) ),
				'lesson'     => (int) ( $meta['lesson_id'] ?? get_post_meta( (int) $assignment_id, 'lesson_id', true ) ),
			)
		);
	}

	// ---- FluentCRM tags (it has no outgoing tag webhook of its own) ----

	public static function tags_applied( $tag_ids, $subscriber ): void {
		self::tags( 'tag.applied', $tag_ids, $subscriber );
	}

	public static function tags_removed( $tag_ids, $subscriber ): void {
		self::tags( 'tag.removed', $tag_ids, $subscriber );
	}

	private static function tags( string $topic, $tag_ids, $subscriber ): void {
		if ( ! is_object( $subscriber ) ) {
			return;
		}
		$email   = (string) ( $subscriber->email ?? '' );
		$user_id = (int) ( $subscriber->user_id ?? 0 );
		if ( ! $user_id && '' !== $email ) {
			$user    = get_user_by( 'email', $email );
			$user_id = $user ? (int) $user->ID : 0;
		}
		foreach ( (array) $tag_ids as $tag_id ) {
			MemberSync_Companion_Queue::push(
				$topic,
				$user_id,
				array(
					'email'   => $email,
					'tag'     => self::tag( (int) $tag_id ),
					'contact' => (int) ( $subscriber->id ?? 0 ),
				)
			);
		}
	}

	private static function tag( int $tag_id ): array {
		$tag = array(
			'id'    => $tag_id,
			'title' => null,
			'slug'  => null,
		);
		if ( class_exists( '\FluentCrm\App\Models\Tag' ) ) {
			$found = \FluentCrm\App\Models\Tag::find( $tag_id );
			if ( $found ) {
				$tag['title'] = $found->title;
				$tag['slug']  = $found->slug;
			}
		}
		return $tag;
	}

	// ---- helpers: LearnDash passes posts and users as objects or ids ----

	private static function id( $post ): int {
		if ( $post instanceof WP_Post ) {
			return (int) $post->ID;
		}
		return is_numeric( $post ) ? (int) $post : 0;
	}

	private static function user_id( $user ): int {
		if ( $user instanceof WP_User ) {
			return (int) $user->ID;
		}
		return is_numeric( $user ) ? (int) $user : 0;
	}
}
